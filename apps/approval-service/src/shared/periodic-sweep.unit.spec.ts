import { describe, expect, it } from 'vitest';
import { PeriodicSweep } from './periodic-sweep';

describe('PeriodicSweep (the loop of the log-driven timers)', () => {
  it('acts on everything due, a few at a time, and counts what recorded something', async () => {
    let running = 0;
    let peak = 0;
    const act = async (n: number) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return n % 2 === 0;
    };
    const loop = new PeriodicSweep(60_000, () => [1, 2, 3, 4, 5, 6, 7], act, 3);
    expect(await loop.sweep()).toBe(3);
    expect(peak).toBe(3);
  });

  it('a sweep asked for during another joins it; stop waits for it and ends the loop', async () => {
    let sweeps = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const loop = new PeriodicSweep(
      1,
      () => {
        sweeps += 1;
        return [1];
      },
      async () => {
        await gate;
        return true;
      },
    );
    const first = loop.sweep();
    expect(loop.sweep()).toBe(first);
    loop.start();
    const stopped = loop.stop();
    release();
    await stopped;
    expect(await first).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(sweeps).toBe(1);
  });
});
