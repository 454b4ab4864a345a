import { DispatchMessageDto, HEADERS, validateMessage } from '@signoff/contracts';
import { jobHash } from '@signoff/policy-engine';

/** A dispatched job whose integrity was verified: what a handler receives. */
export interface DispatchedJob {
  readonly job_id: string;
  readonly topic: string;
  readonly priority: string;
  readonly tenant: string;
  readonly submitted_by: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: unknown;
  /** Present on approved jobs: who approved, under which policy snapshot, for which job hash. */
  readonly approval?: {
    readonly approval_id: string;
    readonly approved_by: readonly string[];
    readonly policy_snapshot: string;
    readonly job_hash: string;
  };
  readonly approval_granted: boolean;
  /** 1 for the first delivery, + 1 per replay; the idempotency key is the same for all. */
  readonly attempt: number;
  readonly idempotency_key: string;
  /** The job hash recomputed from what was received (equal to every hash the message claims). */
  readonly job_hash: string;
}

/** Why a dispatch message is refused (never run). */
export type RefusalCode = 'invalid_message' | 'job_hash_mismatch';

export type DispatchVerification =
  | { readonly ok: true; readonly job: DispatchedJob }
  | {
      readonly ok: false;
      readonly code: RefusalCode;
      readonly detail: string;
      /** Known when the message named them (then the refusal can be reported on the results topic). */
      readonly job_id: string | null;
      /** The tenant the message names (its job is reported in it), when it names one. */
      readonly tenant: string | null;
      readonly idempotency_key: string | null;
    };

function stringMember(value: unknown, name: string): string | null {
  if (value === null || typeof value !== 'object') return null;
  const member = (value as Record<string, unknown>)[name];
  return typeof member === 'string' && member.length > 0 ? member : null;
}

/**
 * Checks a `signoff.jobs.dispatch` message before anything runs (DESIGN sections 3 and 6):
 * 1. the value is a valid dispatch message, its job id is the message key, and the
 *    `idempotency-key` header (when present) is the value's key;
 * 2. the job hash is recomputed from what was received, `{topic, priority, tenant, submitted_by,
 *    labels, payload}`, and must equal every hash the message claims (the `job-hash` header, the
 *    approval's `job_hash`); at least one must be present. A mismatch means the job was changed
 *    after it was evaluated or approved: `job_hash_mismatch`, never run;
 * 3. `approval_granted: true` without the approval it claims is refused.
 */
export function verifyDispatch(value: unknown, headers: Readonly<Record<string, string>>, key: string | null): DispatchVerification {
  const jobId = stringMember(value, 'job_id');
  const tenant = stringMember(value, 'tenant');
  const idempotencyKey = stringMember(value, 'idempotency_key');
  const refuse = (code: RefusalCode, detail: string): DispatchVerification => ({
    ok: false,
    code,
    detail,
    job_id: jobId,
    tenant,
    idempotency_key: idempotencyKey,
  });
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
  const granted = headers[HEADERS.approvalGranted] === 'true' || m.approval_granted === true;
  if (granted && !m.approval) return refuse('invalid_message', 'approval_granted is set but the message carries no approval');

  if (typeof m.submitted_by !== 'string') {
    return refuse('job_hash_mismatch', 'submitted_by is missing: the job hash cannot be recomputed');
  }
  const labels = m.labels;
  if (Object.values(labels).some((v) => typeof v !== 'string')) return refuse('invalid_message', 'labels must be strings');
  const recomputed = jobHash({
    topic: m.topic,
    priority: m.priority,
    tenant: m.tenant,
    submitted_by: m.submitted_by,
    labels,
    payload: m.payload === undefined ? null : m.payload,
  });
  const claimed = [
    ['job-hash header', headers[HEADERS.jobHash]],
    ['job_hash', m.job_hash],
    ['approval.job_hash', m.approval?.job_hash],
  ].filter((c): c is [string, string] => typeof c[1] === 'string');
  if (claimed.length === 0) return refuse('job_hash_mismatch', 'the message claims no job hash to verify');
  const wrong = claimed.find(([, hash]) => hash !== recomputed);
  if (wrong) return refuse('job_hash_mismatch', `${wrong[0]} is ${wrong[1]} but the received job hashes to ${recomputed}`);

  return {
    ok: true,
    job: {
      job_id: m.job_id,
      topic: m.topic,
      priority: m.priority,
      tenant: m.tenant,
      submitted_by: m.submitted_by,
      labels,
      payload: m.payload === undefined ? null : m.payload,
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
      approval_granted: granted,
      attempt: m.attempt,
      idempotency_key: m.idempotency_key,
      job_hash: recomputed,
    },
  };
}
