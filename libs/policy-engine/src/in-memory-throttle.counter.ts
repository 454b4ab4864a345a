import { fixedWindowStart, retryAfterSeconds, ThrottleCounter, type ThrottleHit } from './throttle-counter.port';

interface Window {
  start: number;
  end: number;
  count: number;
}

/**
 * A `ThrottleCounter` for one process (tests, the standalone mode on embedded defaults). It answers
 * synchronously, so evaluation stays synchronous. Counters of ended windows are swept once more than
 * `maxKeys` keys are held.
 */
export class InMemoryThrottleCounter extends ThrottleCounter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly maxKeys = 100_000) {
    super();
  }

  override hit(key: string, windowMs: number, limit: number, now: number): ThrottleHit {
    const start = fixedWindowStart(now, windowMs);
    let window = this.windows.get(key);
    if (window === undefined || window.start !== start) {
      if (window === undefined && this.windows.size >= this.maxKeys) this.sweep(now);
      window = { start, end: start + windowMs, count: 0 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= limit, count: window.count, retry_after_seconds: retryAfterSeconds(now, windowMs) };
  }

  /** Number of keys currently held (for tests and metrics). */
  get size(): number {
    return this.windows.size;
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.end <= now) this.windows.delete(key);
  }
}
