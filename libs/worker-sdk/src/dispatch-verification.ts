import { DISPATCH_GRANT_CLAIMS, DISPATCH_GRANT_TYP, DispatchApproval, DispatchGrantClaims, DispatchMessageDto, GrantDecision, HEADERS, validateMessage } from '@signoff/contracts';
import { TokenRefusalCode, TokenRefusedError, VerificationKeySet } from '@signoff/keys';
import { jobHash } from '@signoff/policy-engine';

/** The verified grant a dispatched job ran under. */
export interface VerifiedGrant {
  /** The id of the control-plane key that signed it. */
  readonly key_id: string;
  readonly decision: GrantDecision;
  readonly issued_at: string;
  readonly expires_at: string;
}

/**
 * A dispatched job whose grant and integrity were verified: what a handler receives (the
 * `DispatchMessage` of @signoff/contracts, checked, with the verified grant).
 */
export interface DispatchedJob {
  readonly job_id: string;
  readonly topic: string;
  readonly priority: string;
  readonly tenant: string;
  readonly submitted_by: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: unknown;
  /** Present on approved jobs: who approved, under which policy snapshot, for which job hash. */
  readonly approval?: DispatchApproval;
  readonly approval_granted: boolean;
  /** 1 for the first delivery, + 1 per replay; the idempotency key is the same for all. */
  readonly attempt: number;
  readonly idempotency_key: string;
  /** The job hash recomputed from what was received (equal to the grant's and every hash the message claims). */
  readonly job_hash: string;
  /** The policy snapshot the job was evaluated (and approved) under, as the grant states it. */
  readonly policy_snapshot: string;
  readonly grant: VerifiedGrant;
}

/**
 * Why a dispatch message is refused (never run), in the order they are checked:
 * - `unsigned`: no `signoff-grant` header;
 * - `unknown_key`: signed by a key that is not in the trusted key set;
 * - `bad_signature`: the signature does not verify, or the grant is malformed;
 * - `grant_expired` / `grant_not_yet_valid`: outside the grant's lifetime (with the clock skew);
 * - `invalid_message`: not a valid dispatch message;
 * - `grant_mismatch`: a field of the body differs from what the grant covers;
 * - `job_hash_mismatch`: the job recomputed from the body does not hash to the granted hash.
 */
export type RefusalCode =
  | 'unsigned'
  | 'unknown_key'
  | 'bad_signature'
  | 'grant_expired'
  | 'grant_not_yet_valid'
  | 'invalid_message'
  | 'grant_mismatch'
  | 'job_hash_mismatch';

export const REFUSAL_CODES: readonly RefusalCode[] = [
  'unsigned',
  'unknown_key',
  'bad_signature',
  'grant_expired',
  'grant_not_yet_valid',
  'invalid_message',
  'grant_mismatch',
  'job_hash_mismatch',
];

export type DispatchVerification =
  | { readonly ok: true; readonly job: DispatchedJob }
  | {
      readonly ok: false;
      readonly code: RefusalCode;
      readonly detail: string;
      /** As the message names them (unverified: for logs only). */
      readonly job_id: string | null;
      /** The tenant the message names (its job is reported in it), when it names one. */
      readonly tenant: string | null;
      readonly idempotency_key: string | null;
    };

/** What is verified: a consumed message's value (parsed JSON), headers and key. */
export interface DispatchEnvelope {
  readonly value: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly key: string | null;
}

export interface VerifyDispatchOptions {
  /** The worker's time (default: now). */
  readonly now?: Date;
  /** Allowed clock skew between dispatcher and worker, seconds (default 30). */
  readonly clockToleranceSec?: number;
}

const TOKEN_REFUSALS: Readonly<Record<TokenRefusalCode, RefusalCode>> = {
  unknown_key: 'unknown_key',
  bad_signature: 'bad_signature',
  expired: 'grant_expired',
  not_yet_valid: 'grant_not_yet_valid',
};

function stringMember(value: unknown, name: string): string | null {
  if (value === null || typeof value !== 'object') return null;
  const member = (value as Record<string, unknown>)[name];
  return typeof member === 'string' && member.length > 0 ? member : null;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The covered claims of a verified grant, or null when they are malformed. */
function grantClaims(payload: Record<string, unknown>): DispatchGrantClaims | null {
  const p = payload;
  const ok =
    isString(p.job_id) &&
    typeof p.tenant === 'string' &&
    isString(p.job_hash) &&
    isString(p.policy_snapshot) &&
    (p.decision === 'allow' || p.decision === 'approved') &&
    (p.approval_id === null || isString(p.approval_id)) &&
    Array.isArray(p.approved_by) &&
    p.approved_by.every((a) => typeof a === 'string') &&
    typeof p.attempt === 'number' &&
    Number.isInteger(p.attempt) &&
    isString(p.idempotency_key);
  return ok ? (p as unknown as DispatchGrantClaims) : null;
}

const same = (a: unknown, b: unknown): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((x, i) => x === b[i]) : a === b;

/**
 * Checks a `signoff.jobs.dispatch` message before anything runs (DESIGN sections 3 and 12), the
 * signature first:
 * 1. the `signoff-grant` header is a JWS signed by a key of `keys`, of type `signoff-grant+jwt`,
 *    within its lifetime (`unsigned`, `unknown_key`, `bad_signature`, `grant_expired`,
 *    `grant_not_yet_valid`);
 * 2. the value is a valid dispatch message, its job id is the message key, the `idempotency-key`
 *    header is the value's key (`invalid_message`);
 * 3. every field the grant covers equals the body's: job id, tenant, job hash (header, value,
 *    approval), policy snapshot (value, approval), decision (an approval block and
 *    `approval_granted: true` exactly when approved), approval id and approvers in order,
 *    attempt, idempotency key (`grant_mismatch`);
 * 4. the job hash recomputed from what was received, `{topic, priority, tenant, submitted_by,
 *    labels, payload}`, is the granted one (`job_hash_mismatch`).
 * Throws `KeySetUnavailableError` when the keys cannot be read now (retry later: that is not a
 * verdict on the message).
 */
export async function verifyDispatch(
  envelope: DispatchEnvelope,
  keys: VerificationKeySet,
  options: VerifyDispatchOptions = {},
): Promise<DispatchVerification> {
  const { value, headers, key } = envelope;
  const jobId = stringMember(value, 'job_id');
  const tenant = stringMember(value, 'tenant');
  const idempotencyKey = stringMember(value, 'idempotency_key');
  const refuse = (code: RefusalCode, detail: string): DispatchVerification => ({ ok: false, code, detail, job_id: jobId, tenant, idempotency_key: idempotencyKey });

  // 1. the grant: signed by a trusted key, within its lifetime
  const token = headers[HEADERS.grant];
  if (token === undefined || token === '') return refuse('unsigned', `the message carries no ${HEADERS.grant} header`);
  let grant: DispatchGrantClaims;
  let verified: VerifiedGrant;
  try {
    const result = await keys.verify(token, { typ: DISPATCH_GRANT_TYP, now: options.now, clockToleranceSec: options.clockToleranceSec });
    const claims = grantClaims(result.payload as Record<string, unknown>);
    if (claims === null) return refuse('bad_signature', 'the grant is signed but its claims are malformed');
    grant = claims;
    verified = { key_id: result.kid, decision: claims.decision, issued_at: result.issuedAt.toISOString(), expires_at: result.expiresAt.toISOString() };
  } catch (error) {
    if (error instanceof TokenRefusedError) return refuse(TOKEN_REFUSALS[error.code], `grant: ${error.message}`);
    throw error;
  }

  // 2. a valid dispatch message
  const parsed = validateMessage(DispatchMessageDto, value);
  if (!parsed.ok) {
    return refuse('invalid_message', parsed.errors.map((e) => `${e.field || 'value'}: ${e.message}`).join('; '));
  }
  const m = parsed.value;
  if (key !== null && key !== m.job_id) return refuse('invalid_message', `job_id ${m.job_id} differs from the message key ${key}`);
  const headerKey = headers[HEADERS.idempotencyKey];
  if (headerKey !== undefined && headerKey !== m.idempotency_key) {
    return refuse('invalid_message', 'the idempotency-key header differs from the value');
  }
  const labels = m.labels;
  if (Object.values(labels).some((v) => typeof v !== 'string')) return refuse('invalid_message', 'labels must be strings');

  // 3. the body says what the grant covers, field by field
  const granted = headers[HEADERS.approvalGranted] === 'true' || m.approval_granted === true;
  const body: Record<keyof DispatchGrantClaims, readonly unknown[]> = {
    job_id: [m.job_id],
    tenant: [m.tenant],
    job_hash: [headers[HEADERS.jobHash], m.job_hash, m.approval?.job_hash].filter((h) => h !== undefined),
    policy_snapshot: [m.policy_snapshot, m.approval?.policy_snapshot].filter((s) => s !== undefined),
    decision: [m.approval ? 'approved' : 'allow', granted ? 'approved' : 'allow'],
    approval_id: [m.approval?.approval_id ?? null],
    approved_by: [m.approval?.approved_by ?? []],
    attempt: [m.attempt],
    idempotency_key: [m.idempotency_key],
  };
  for (const field of DISPATCH_GRANT_CLAIMS) {
    const differing = body[field].find((v) => !same(v, grant[field]));
    if (differing !== undefined) {
      return refuse('grant_mismatch', `${field}: the message says ${JSON.stringify(differing)}, the grant ${JSON.stringify(grant[field])}`);
    }
  }

  // 4. the received job hashes to the granted hash
  if (typeof m.submitted_by !== 'string') {
    return refuse('job_hash_mismatch', 'submitted_by is missing: the job hash cannot be recomputed');
  }
  const payload = m.payload === undefined ? null : m.payload;
  const recomputed = jobHash({ topic: m.topic, priority: m.priority, tenant: m.tenant, submitted_by: m.submitted_by, labels, payload });
  if (recomputed !== grant.job_hash) {
    return refuse('job_hash_mismatch', `the granted job hash is ${grant.job_hash} but the received job hashes to ${recomputed}`);
  }

  return {
    ok: true,
    job: {
      job_id: m.job_id,
      topic: m.topic,
      priority: m.priority,
      tenant: m.tenant,
      submitted_by: m.submitted_by,
      labels,
      payload,
      ...(m.approval
        ? {
            approval: {
              approval_id: m.approval.approval_id,
              approved_by: [...m.approval.approved_by],
              policy_snapshot: m.approval.policy_snapshot,
              job_hash: m.approval.job_hash,
            },
          }
        : {}),
      approval_granted: grant.decision === 'approved',
      attempt: m.attempt,
      idempotency_key: m.idempotency_key,
      job_hash: recomputed,
      policy_snapshot: grant.policy_snapshot,
      grant: verified,
    },
  };
}
