import { describe, expect, it } from 'vitest';
import type { AppendResult } from '../event-store.port';
import { AppendBatcher, type AppendBatchRunner, type BatchedAppend } from './append-batcher';

/**
 * A fake database for the batcher: stream heads in memory, every batch and single append
 * recorded, statements answered on the next macrotask (as a round trip would be).
 */
class FakeRunner implements AppendBatchRunner {
  readonly heads = new Map<string, bigint>();
  readonly batches: string[][] = [];
  readonly singles: string[] = [];
  private position = 0n;
  /** Entries whose stream makes a whole batch fail (a value the database refuses). */
  poison = new Set<string>();

  batch(entries: readonly BatchedAppend[]): Promise<(AppendResult | null)[]> {
    this.batches.push(entries.map((e) => e.stream));
    return this.later(() => {
      if (entries.some((e) => this.poison.has(e.stream))) throw new Error('batch refused');
      return entries.map((e) => this.apply(e));
    });
  }

  one(entry: BatchedAppend): Promise<AppendResult | null> {
    this.singles.push(entry.stream);
    return this.later(() => {
      if (this.poison.has(entry.stream)) throw new Error(`refused ${entry.stream}`);
      return this.apply(entry);
    });
  }

  private apply(entry: BatchedAppend): AppendResult | null {
    const head = this.heads.get(entry.stream) ?? -1n;
    if (entry.condition.exact !== null && entry.condition.exact !== head) return null;
    if (entry.condition.mustExist && head < 0n) return null;
    const next = head + BigInt(entry.ids.length);
    this.heads.set(entry.stream, next);
    this.position += BigInt(entry.ids.length);
    return { nextRevision: next, position: this.position };
  }

  private later<T>(work: () => T): Promise<T> {
    return new Promise((resolve, reject) => setTimeout(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error as Error);
      }
    }, 1));
  }
}

let nextId = 0;
function entry(stream: string, exact: bigint | null, ids: string[] = [`id-${nextId++}`]): BatchedAppend {
  return { stream, condition: { exact, mustExist: false }, ids, json: '[]' };
}

describe('AppendBatcher (group commit)', () => {
  it('appends to distinct streams issued in one turn share one batch, each with its own answer', async () => {
    const runner = new FakeRunner();
    runner.heads.set('b', 4n);
    const batcher = new AppendBatcher(runner, { maxBatches: 2, maxAppends: 64 });
    const outcomes = await Promise.all([batcher.append(entry('a', -1n)), batcher.append(entry('b', 4n)), batcher.append(entry('c', 7n))]);
    expect(runner.batches).toEqual([['a', 'b', 'c']]);
    expect(outcomes).toEqual([
      { kind: 'appended', result: { nextRevision: 0n, position: 1n } },
      { kind: 'appended', result: { nextRevision: 5n, position: 2n } },
      { kind: 'unmet' },
    ]);
  });

  it('never puts two appends of one stream in a batch; a later one expecting the head the first moved is superseded without a statement', async () => {
    const runner = new FakeRunner();
    runner.heads.set('s', 2n);
    const batcher = new AppendBatcher(runner, { maxBatches: 4, maxAppends: 64 });
    const outcomes = await Promise.all([
      batcher.append(entry('s', 2n)),
      batcher.append(entry('t', -1n)),
      ...Array.from({ length: 20 }, () => batcher.append(entry('s', 2n))),
    ]);
    expect(outcomes[0]).toEqual({ kind: 'appended', result: { nextRevision: 3n, position: 1n } });
    expect(outcomes[1]?.kind).toBe('appended');
    for (const loser of outcomes.slice(2)) expect(loser).toEqual({ kind: 'superseded', head: 3n });
    expect(runner.batches).toEqual([['s', 't']]);
    expect(runner.singles).toEqual([]);
  });

  it('a later append of the stream with other expectations, or with the same ids (a retry), goes to the database after the first settled', async () => {
    const runner = new FakeRunner();
    const batcher = new AppendBatcher(runner, { maxBatches: 4, maxAppends: 64 });
    const ids = ['x-1'];
    const outcomes = await Promise.all([
      batcher.append(entry('s', -1n, ids)),
      batcher.append(entry('s', -1n, ids)),
      batcher.append(entry('s', 0n)),
      batcher.append(entry('s', null)),
    ]);
    // The retry is not superseded: the store decides it (idempotent there), so it reaches the database.
    expect(outcomes.map((o) => o.kind)).toEqual(['appended', 'unmet', 'appended', 'appended']);
    expect([...runner.batches.flat(), ...runner.singles]).toEqual(['s', 's', 's', 's']);
    expect(runner.heads.get('s')).toBe(2n);
  });

  it('a batch that fails as a whole is retried append by append: only the bad one fails', async () => {
    const runner = new FakeRunner();
    runner.poison.add('bad');
    const batcher = new AppendBatcher(runner, { maxBatches: 1, maxAppends: 64 });
    const outcomes = await Promise.allSettled([batcher.append(entry('a', -1n)), batcher.append(entry('bad', -1n)), batcher.append(entry('c', -1n))]);
    expect(runner.batches).toEqual([['a', 'bad', 'c']]);
    expect(runner.singles.sort()).toEqual(['a', 'bad', 'c']);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('refused bad'));
    expect([runner.heads.get('a'), runner.heads.get('bad'), runner.heads.get('c')]).toEqual([0n, undefined, 0n]);
  });

  it('keeps at most maxBatches in flight and maxAppends per batch; what arrives meanwhile waits for the next batch', async () => {
    const runner = new FakeRunner();
    const batcher = new AppendBatcher(runner, { maxBatches: 2, maxAppends: 3 });
    const all = Array.from({ length: 10 }, (_, i) => batcher.append(entry(`s${i}`, -1n)));
    await Promise.all(all);
    expect(runner.batches.map((b) => b.length)).toEqual([3, 3, 3]);
    expect(runner.singles).toEqual(['s9']);
    expect(runner.batches.flat().concat(runner.singles)).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
  });

  it('a superseded chain ends at a failure: after a rejected append the next one is decided by the database', async () => {
    const runner = new FakeRunner();
    runner.poison.add('p');
    const batcher = new AppendBatcher(runner, { maxBatches: 1, maxAppends: 64 });
    const [first, second] = await Promise.allSettled([batcher.append(entry('p', -1n)), batcher.append(entry('p', -1n))]);
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('rejected');
    expect(runner.singles).toEqual(['p', 'p']);
  });

  it("remembers where a stream's head went: a late append expecting the old head is superseded without a statement, long after the first settled", async () => {
    const runner = new FakeRunner();
    runner.heads.set('s', 2n);
    const batcher = new AppendBatcher(runner, { maxBatches: 4, maxAppends: 64 });
    const grant = entry('s', 2n, ['grant-1', 'grant-2']);
    expect(await batcher.append(grant)).toEqual({ kind: 'appended', result: { nextRevision: 4n, position: 2n } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const statements = runner.batches.length + runner.singles.length;
    // A loser that decided on the state before the grant (a projection's fold, say).
    expect(await batcher.append(entry('s', 2n))).toEqual({ kind: 'superseded', head: 4n });
    expect(runner.batches.length + runner.singles.length).toBe(statements);
    // The same ids again (a retry of the grant itself) and the new head still go to the database.
    expect(await batcher.append(entry('s', 2n, ['grant-1', 'grant-2']))).toEqual({ kind: 'unmet' });
    expect(await batcher.append(entry('s', 4n))).toEqual({ kind: 'appended', result: { nextRevision: 5n, position: 3n } });
    expect(runner.batches.length + runner.singles.length).toBe(statements + 2);
  });
});
