/** The back-off of webhook retries (WEBHOOK_BACKOFF_BASE_MS, WEBHOOK_BACKOFF_MAX_MS). */
export interface WebhookBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The wait after failed attempt `attempt` (1 = the first): exponential (`base * 2^(attempt-1)`,
 * capped at `max`), with "equal jitter": half of it fixed, half random, so endpoints that failed
 * together do not all retry in the same instant, and no wait is shorter than half the schedule.
 * `random` is in [0, 1) (Math.random in production, fixed in tests).
 */
export function webhookBackoffMs(attempt: number, backoff: WebhookBackoff, random: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
