/**
 * The dispatch grant (DESIGN section 12): the dispatcher signs every dispatch it publishes, and a
 * worker runs nothing whose grant does not verify against the control plane's public keys and
 * match the message's body field by field. Carried in the `signoff-grant` header as a compact JWS
 * (EdDSA, protected header `{alg, kid, typ: DISPATCH_GRANT_TYP}`) whose claims are
 * {@link DispatchGrantClaims} plus `iat` and `exp`.
 */

/** JOSE `typ` of a dispatch grant; other tokens signed by the same keys carry other types. */
export const DISPATCH_GRANT_TYP = 'signoff-grant+jwt';

/** Why the job was released: its `allow` evaluation, or an approval that reached its quorum. */
export type GrantDecision = 'allow' | 'approved';

/** What a dispatch grant covers (its claims besides `iat`, `exp`). */
export interface DispatchGrantClaims {
  readonly job_id: string;
  readonly tenant: string;
  /** The job hash evaluated (and approved): the worker recomputes it from the body. */
  readonly job_hash: string;
  /** The policy snapshot the job was evaluated (and approved) under. */
  readonly policy_snapshot: string;
  readonly decision: GrantDecision;
  /** The approval's id; null for an allowed job. */
  readonly approval_id: string | null;
  /** Who approved, in order; empty for an allowed job. */
  readonly approved_by: readonly string[];
  readonly attempt: number;
  readonly idempotency_key: string;
}

/** The covered claims, in the order a mismatch is reported. */
export const DISPATCH_GRANT_CLAIMS: readonly (keyof DispatchGrantClaims)[] = [
  'job_id',
  'tenant',
  'job_hash',
  'policy_snapshot',
  'decision',
  'approval_id',
  'approved_by',
  'attempt',
  'idempotency_key',
];
