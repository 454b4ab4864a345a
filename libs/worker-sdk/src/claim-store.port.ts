/**
 * The one thing the SQL claim store needs from a database: a parameterised query. A node-postgres
 * `Pool` or `Client` and a PGlite instance all have this shape, so one adapter serves PostgreSQL
 * (distributed workers) and PGlite (the standalone mode). A transactional handler gets its
 * claim's transaction in this shape too.
 */
export interface SqlQueryable {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * How a claim's side effect relates to its completion (see the worker SDK README):
 * - `transactional`: the effect is written in the claim's own database transaction, which also
 *   marks the claim completed; a takeover of an expired lease always runs it again (what the
 *   crashed holder wrote was rolled back with its completion);
 * - `idempotent`: an external effect the downstream dedupes by idempotency key and fences by the
 *   fencing token; a takeover runs it again with a higher token;
 * - `external`: an external effect that is not idempotent; once it may have begun, an expired
 *   lease without an outcome is marked `unknown` instead of being taken over.
 */
export type ClaimMode = 'external' | 'idempotent' | 'transactional';

/** A held claim on an idempotency key: only its holder may renew, complete or release it. */
export interface Lease {
  readonly key: string;
  /** Random per claim: a worker that took the key over gets a new token, which fences the old holder out. */
  readonly token: string;
  readonly owner: string;
  /**
   * The claim's run counter: 1 for the first claim, + 1 with every takeover. Monotonic per key, so
   * a downstream system that remembers the highest token it saw for a key can refuse a write from
   * a holder that was taken over (fencing).
   */
  readonly fencingToken: number;
}

/** The final outcome of a side effect, stored once under its key. */
export interface StoredOutcome {
  readonly status: 'succeeded' | 'failed';
  readonly result?: unknown;
  readonly error?: string;
}

export interface ClaimRequest {
  readonly key: string;
  readonly jobId: string;
  readonly jobHash: string;
  /** The worker claiming. */
  readonly owner: string;
  /** How long the claim holds without renewal. */
  readonly leaseMs: number;
  /** The mode of the handler that will run under this claim (recorded with the claim). */
  readonly mode: ClaimMode;
}

export type ClaimResult =
  /** Run the side effect. `takeover`: an earlier holder's lease had expired (it crashed mid-run). */
  | { readonly status: 'claimed'; readonly lease: Lease; readonly takeover: boolean; readonly runs: number }
  /** Done before: do not run; report the stored outcome. */
  | { readonly status: 'completed'; readonly outcome: StoredOutcome; readonly owner: string }
  /**
   * The outcome is unknown: a holder of an `external` claim lost its lease after its side effect
   * had begun and before it recorded an outcome. Never run again; report `unknown`. `marked`: this
   * call found the expired claim and marked it (the first to find it).
   */
  | { readonly status: 'unknown'; readonly owner: string; readonly runs: number; readonly reason: string; readonly marked: boolean }
  /** Another worker holds a live lease: it is running the side effect now. */
  | { readonly status: 'busy'; readonly owner: string; readonly leaseExpiresAt: Date }
  /** The key was claimed for another job or other job content: refuse. */
  | { readonly status: 'conflict'; readonly jobId: string; readonly jobHash: string };

export type CompleteResult =
  | { readonly status: 'stored' }
  /** The lease was taken over (this worker was presumed dead); `current` is the key's record now. */
  | { readonly status: 'lease_lost'; readonly current: ClaimRecord | null };

/** What a transactional run stored. */
export type TransactionalResult =
  /** The effect and the completion committed together. */
  | { readonly status: 'stored'; readonly outcome: StoredOutcome }
  /** The lease was no longer this worker's when it locked the claim: nothing ran. */
  | { readonly status: 'lease_lost'; readonly current: ClaimRecord | null };

/**
 * The side effect of a transactional handler: it writes through `tx`, the claim's transaction.
 * `signal` fires when the transaction's connection is lost (the transaction is then rolled back).
 * A value it returns is the result; a throw rolls its writes back and records `failed`.
 */
export type TransactionalEffect = (tx: SqlQueryable, signal: AbortSignal) => Promise<unknown>;

/** A key's row, for inspection. */
export interface ClaimRecord {
  readonly key: string;
  readonly jobId: string;
  readonly jobHash: string;
  readonly status: 'running' | 'succeeded' | 'failed' | 'unknown';
  readonly owner: string;
  readonly runs: number;
  readonly mode: ClaimMode;
  /** An external handler was about to begin its side effect under the current or an earlier lease. */
  readonly effectStarted: boolean;
  readonly leaseExpiresAt: Date | null;
  readonly result?: unknown;
  readonly error?: string;
}

/** Longest error message stored with a failed outcome. */
export const MAX_ERROR_LENGTH = 2000;

/** The `failed` outcome of a thrown handler error. */
export function failedOutcome(error: unknown): StoredOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { status: 'failed', error: message.slice(0, MAX_ERROR_LENGTH) || 'handler failed' };
}

/**
 * Where a worker claims idempotency keys before running side effects (DESIGN section 6). The
 * claim is atomic: of any number of workers claiming one key at once, exactly one gets `claimed`.
 * A claim is a lease: a holder that stops renewing (crashed) can be taken over once it expires,
 * unless the claim's external, non-idempotent side effect may have begun, in which case the
 * first worker to find it marks it `unknown`; a completed or unknown key answers the same forever.
 */
export abstract class ClaimStore {
  /** Claims the key, takes over an expired claim when that is safe, or marks it unknown when it is not. */
  abstract claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Extends a held lease; false when it was taken over. */
  abstract renew(lease: Lease, leaseMs: number): Promise<boolean>;
  /**
   * Records, under the lease, that the handler is about to begin its side effect (external and
   * idempotent modes); false when the lease was taken over (then nothing may run). From now on an
   * expired lease of an `external` claim is marked unknown, never taken over.
   */
  abstract markEffectStarted(lease: Lease): Promise<boolean>;
  /** Stores the outcome under a held lease (fenced by its token). */
  abstract complete(lease: Lease, outcome: StoredOutcome): Promise<CompleteResult>;
  /**
   * Transactional mode: in one transaction, locks the claim row under the lease token
   * (`SELECT ... FOR UPDATE`), runs `effect` with that transaction, marks the claim completed
   * with its outcome, and commits; the effect's writes and the completion commit or roll back
   * together. Throws when the transaction cannot complete (the connection was lost): then
   * nothing was stored and nothing the effect wrote remains.
   */
  abstract runTransactionally(lease: Lease, effect: TransactionalEffect, options: { readonly leaseMs: number }): Promise<TransactionalResult>;
  /** Whether {@link runTransactionally} is available (a pg Pool or PGlite underneath). */
  abstract get supportsTransactions(): boolean;
  /** A held claim whose outcome cannot be known (its handler gave up after the lease was lost): marks it `unknown`. */
  abstract markUnknown(lease: Lease, reason: string): Promise<boolean>;
  /** Ends a held lease at once without an outcome, so a takeover can run the (idempotent or rolled back) effect again. */
  abstract expire(lease: Lease): Promise<boolean>;
  /** Gives up a held claim before the side effect ran, so the key can be claimed again at once. */
  abstract release(lease: Lease): Promise<void>;
  abstract get(key: string): Promise<ClaimRecord | null>;
  /** Releases connections the store opened itself. */
  abstract close(): Promise<void>;
}
