/**
 * The lease that makes a durable subscription exclusive across instances, as pure decisions: the
 * lease lives in the checkpoint record (its `owner`, and a `token` that changes on every write),
 * and every write of it is the checkpoint's compare-and-set, so a deposed owner can never move
 * the checkpoint. Time is each instance's OWN monotonic clock: a standby never compares its clock
 * with a timestamp another machine wrote, it only measures how long the record has not changed.
 */

/** The lease part of a stored checkpoint. */
export interface LeaseRecord {
  /** The running subscription that holds the lease; null once its owner released it. */
  readonly owner: string | null;
  /** Changes on every write of the record (compared with `===`). */
  readonly token: unknown;
}

/** What a standby remembers between polls: the record version it saw and since when (its clock). */
export interface LeaseWatch {
  readonly token: unknown;
  readonly since: number;
}

export type LeaseDecision =
  /** Take the lease now (compare-and-set over the record just read). */
  | { readonly kind: 'acquire'; readonly reason: 'vacant' | 'released' | 'expired' | 'mine' }
  /** Stand by: poll again later, remembering `watch`. */
  | { readonly kind: 'wait'; readonly watch: LeaseWatch };

/**
 * What a standby does with the record it just read at `now`: take a lease nobody holds (no
 * record yet, or released on a clean stop) at once; take a held one only when the record has not
 * changed for `ttlMs` by this instance's clock (the owner stopped renewing: it died or hangs).
 */
export function decideStandby(record: LeaseRecord | null, watch: LeaseWatch | null, me: string, now: number, ttlMs: number): LeaseDecision {
  if (record === null) return { kind: 'acquire', reason: 'vacant' };
  if (record.owner === null) return { kind: 'acquire', reason: 'released' };
  // Our own write whose answer was lost (a failed round trip that did commit).
  if (record.owner === me) return { kind: 'acquire', reason: 'mine' };
  if (watch === null || watch.token !== record.token) return { kind: 'wait', watch: { token: record.token, since: now } };
  if (now - watch.since >= ttlMs) return { kind: 'acquire', reason: 'expired' };
  return { kind: 'wait', watch };
}

/**
 * What an owner does when its compare-and-set failed and it read `record` back: another owner
 * (or none: it was released or removed) means it was deposed and must stop handling at once; a
 * record still naming it was moved by a writer that ignores leases (an instance of an older
 * build): adopt it as the base of the next compare-and-set.
 */
export function decideAfterConflict(record: LeaseRecord | null, me: string): 'deposed' | 'retry' {
  return record?.owner === me ? 'retry' : 'deposed';
}

/** An owner renews its lease (a write even when idle) a third of the ttl after its last write. */
export function renewalDue(lastWriteAt: number, now: number, ttlMs: number): boolean {
  return now - lastWriteAt >= ttlMs / 3;
}

/** How often a standby reads the record: often enough to take over within ~1.2 ttl. */
export function standbyPollMs(ttlMs: number): number {
  return Math.max(5, Math.round(ttlMs / 5));
}
