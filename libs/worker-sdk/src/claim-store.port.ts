/** A held claim on an idempotency key: only its holder may renew, complete or release it. */
export interface Lease {
  readonly key: string;
  /** Random per claim: a worker that took the key over gets a new token, which fences the old holder out. */
  readonly token: string;
  readonly owner: string;
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
}

export type ClaimResult =
  /** Run the side effect. `takeover`: an earlier holder's lease had expired (it crashed mid-run). */
  | { readonly status: 'claimed'; readonly lease: Lease; readonly takeover: boolean; readonly runs: number }
  /** Done before: do not run; report the stored outcome. */
  | { readonly status: 'completed'; readonly outcome: StoredOutcome; readonly owner: string }
  /** Another worker holds a live lease: it is running the side effect now. */
  | { readonly status: 'busy'; readonly owner: string; readonly leaseExpiresAt: Date }
  /** The key was claimed for another job or other job content: refuse. */
  | { readonly status: 'conflict'; readonly jobId: string; readonly jobHash: string };

export type CompleteResult =
  | { readonly status: 'stored' }
  /** The lease was taken over (this worker was presumed dead); `current` is the key's record now. */
  | { readonly status: 'lease_lost'; readonly current: ClaimRecord | null };

/** A key's row, for inspection. */
export interface ClaimRecord {
  readonly key: string;
  readonly jobId: string;
  readonly jobHash: string;
  readonly status: 'running' | 'succeeded' | 'failed';
  readonly owner: string;
  readonly runs: number;
  readonly leaseExpiresAt: Date | null;
  readonly result?: unknown;
  readonly error?: string;
}

/**
 * Where a worker claims idempotency keys before running side effects (DESIGN section 6). The
 * claim is atomic: of any number of workers claiming one key at once, exactly one gets `claimed`.
 * A claim is a lease: a holder that stops renewing (crashed) can be taken over once it expires;
 * a completed key answers its stored outcome forever.
 */
export abstract class ClaimStore {
  abstract claim(request: ClaimRequest): Promise<ClaimResult>;
  /** Extends a held lease; false when it was taken over. */
  abstract renew(lease: Lease, leaseMs: number): Promise<boolean>;
  /** Stores the outcome under a held lease (fenced by its token). */
  abstract complete(lease: Lease, outcome: StoredOutcome): Promise<CompleteResult>;
  /** Gives a held claim up before the side effect ran, so the key can be claimed again at once. */
  abstract release(lease: Lease): Promise<void>;
  abstract get(key: string): Promise<ClaimRecord | null>;
  /** Releases connections the store opened itself. */
  abstract close(): Promise<void>;
}
