const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type DurationUnit = keyof typeof UNIT_MS;

const DURATION_PATTERN = /^([1-9][0-9]{0,14})(ms|s|m|h|d)$/;

/** Longest duration a bundle may state (365 days): anything longer is a typo, not a policy. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

/**
 * Parses a bundle duration: a positive integer and one unit of `ms`, `s`, `m`, `h`, `d`
 * (`90s`, `30m`, `24h`, `7d`). Returns milliseconds, or null when the text is not such a duration
 * or exceeds `MAX_DURATION_MS`.
 */
export function parseDuration(text: string): number | null {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : null;
}

/**
 * The canonical text of a duration: the largest unit that divides it exactly (`1800s` -> `30m`,
 * `24h` -> `1d`), so equal durations normalize (and hash) identically.
 */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new RangeError(`not a positive integer duration: ${ms}`);
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
