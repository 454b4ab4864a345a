import { describe, expect, it } from 'vitest';
import { ReadCoalescer } from './read-coalescer';

function recorder(fail: (streams: readonly string[]) => boolean = () => false) {
  const calls: string[][] = [];
  const runner = {
    many: async (streams: readonly string[]) => {
      calls.push([...streams]);
      if (fail(streams)) throw new Error('batch refused');
      return streams.map((s) => [`${s}:e`]);
    },
    one: async (stream: string) => {
      calls.push([stream]);
      if (stream === 'bad') throw new Error(`refused ${stream}`);
      return [`${stream}:e`];
    },
  };
  return { calls, runner };
}

describe('ReadCoalescer', () => {
  it('reads issued in one turn leave as one query, each caller gets its own stream', async () => {
    const { calls, runner } = recorder();
    const reads = new ReadCoalescer(runner, { maxBatches: 1, maxStreams: 64 });
    const answers = await Promise.all(['a', 'b', 'a', 'c'].map((s) => reads.read(s)));
    expect(calls).toEqual([['a', 'b', 'c']]);
    expect(answers).toEqual([['a:e'], ['b:e'], ['a:e'], ['c:e']]);
  });

  it('never joins a batch already sent: a read issued while one is in flight goes in the next', async () => {
    const { calls, runner } = recorder();
    const reads = new ReadCoalescer(runner, { maxBatches: 1, maxStreams: 64 });
    const first = reads.read('a');
    await new Promise((r) => setImmediate(r));
    const second = reads.read('a');
    await Promise.all([first, second]);
    expect(calls).toEqual([['a'], ['a']]);
  });

  it('caps a batch at maxStreams', async () => {
    const { calls, runner } = recorder();
    const reads = new ReadCoalescer(runner, { maxBatches: 2, maxStreams: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((s) => reads.read(s)));
    expect(calls.map((c) => c.length).sort()).toEqual([1, 2, 2]);
  });

  it('a batch failing as a whole is retried stream by stream: only the bad stream fails', async () => {
    const { runner } = recorder((streams) => streams.includes('bad'));
    const reads = new ReadCoalescer(runner, { maxBatches: 1, maxStreams: 64 });
    const outcomes = await Promise.allSettled(['a', 'bad', 'b'].map((s) => reads.read(s)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused bad' });
  });
});
