/** The answer of a throttle counter for one hit. */
export interface ThrottleHit {
  /** True when this hit is within the limit (count <= limit). */
  readonly allowed: boolean;
  /** Hits counted in the current window, this one included. */
  readonly count: number;
  /** Seconds until the current window ends, at least 1: the `Retry-After` of a 429. */
  readonly retry_after_seconds: number;
}

/**
 * Port of the throttle counters (DESIGN section 7: "counters are shared by all instances").
 *
 * Windows are fixed and aligned to the Unix epoch (`start = now - now % windowMs`), so every instance
 * derives the same window from its clock without coordination; use `fixedWindowStart` and
 * `retryAfterSeconds` so adapters agree. `hit` counts one job against `key` in the window containing
 * `now` (refused hits count too, as an atomic `INSERT … ON CONFLICT DO UPDATE SET count = count + 1`
 * would) and reports whether it is within `limit`. It may answer synchronously (in-memory) or with a
 * promise (PostgreSQL). Keys are opaque strings made by the engine (a JSON array of rule id, key
 * name and key value); adapters must not parse them.
 *
 * An abstract class so it can serve as a Nest DI token.
 */
export abstract class ThrottleCounter {
  abstract hit(key: string, windowMs: number, limit: number, now: number): ThrottleHit | Promise<ThrottleHit>;
}

/** The start (epoch ms) of the fixed window of `windowMs` that contains `now`. */
export function fixedWindowStart(now: number, windowMs: number): number {
  return now - (((now % windowMs) + windowMs) % windowMs);
}

/** Whole seconds from `now` to the end of its window, at least 1. */
export function retryAfterSeconds(now: number, windowMs: number): number {
  return Math.max(1, Math.ceil((fixedWindowStart(now, windowMs) + windowMs - now) / 1000));
}
