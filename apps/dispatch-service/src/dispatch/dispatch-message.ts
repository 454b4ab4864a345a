import { randomBytes } from 'node:crypto';
import type { ReleasedJobState } from '@signoff/approvals';
import { DEFAULT_TENANT, HEADERS, JobRef } from '@signoff/contracts';
import type { OutboundMessage } from '@signoff/messaging';

/**
 * A new idempotency key for a job's dispatch: the job's tenant and id and 128 random bits, so
 * nobody can guess the key of a job they did not receive (a report under a guessed key would
 * otherwise be a forgery's first step), and two tenants' jobs of one id never share a key at the
 * workers (`<jobId>:<random>` for the tenant `default`, `<tenant>|<jobId>:<random>` otherwise).
 * Made by the dispatcher that makes the first claim; DispatchClaimed fixes it in the stream and
 * every later attempt reuses the stored key, so a worker sees the same key on every delivery.
 */
export function newIdempotencyKey(ref: JobRef): string {
  const random = randomBytes(16).toString('base64url');
  return ref.tenant === DEFAULT_TENANT ? `${ref.jobId}:${random}` : `${ref.tenant}|${ref.jobId}:${random}`;
}

/** The value of a `signoff.jobs.dispatch` message (DESIGN section 6, plus `submitted_by`, `job_hash`, `policy_snapshot`). */
export interface DispatchMessageValue {
  readonly job_id: string;
  readonly topic: string;
  readonly priority: string;
  readonly tenant: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: unknown;
  readonly approval?: {
    readonly approval_id: string;
    readonly approved_by: readonly string[];
    readonly policy_snapshot: string;
    readonly job_hash: string;
  };
  readonly attempt: number;
  readonly idempotency_key: string;
  /** Part of the hashed request, so the worker can recompute `job_hash` (DESIGN section 3). */
  readonly submitted_by: string;
  /** The job hash the grant covers (also in the `job-hash` header). */
  readonly job_hash: string;
  /** The policy snapshot the grant covers: of the approval, or of the `allow` evaluation. */
  readonly policy_snapshot: string;
}

/**
 * The dispatch message of a released job's current, claimed attempt: key = job_id, the value of
 * DESIGN section 6 and the headers `idempotency-key`, `job-hash`, `signoff-grant` (the signed
 * grant, see DispatchGrantSigner) and, on approved jobs only, `approval_granted: true`. The
 * approval block carries the snapshot and hash the approval was bound to, which the decider
 * checked at approve time. Every field the grant covers is stated in the value, so a worker can
 * compare them one by one.
 */
export function toDispatchMessage(state: ReleasedJobState, grant: string): OutboundMessage {
  const { job, approval, dispatch, evaluation } = state;
  const key = dispatch.idempotency_key;
  if (key === null) throw new Error(`job ${job.job_id} has no claimed dispatch to publish`);
  const { topic, priority, tenant, labels, payload, submitted_by } = job.request;
  const value: DispatchMessageValue = {
    job_id: job.job_id,
    topic,
    priority,
    tenant,
    labels,
    payload: payload === undefined ? null : payload,
    ...(approval
      ? {
          approval: {
            approval_id: approval.grant.approval_id,
            approved_by: approval.grant.approved_by,
            policy_snapshot: approval.policy_snapshot,
            job_hash: approval.job_hash,
          },
        }
      : {}),
    attempt: dispatch.attempt,
    idempotency_key: key,
    submitted_by,
    job_hash: job.job_hash,
    policy_snapshot: approval ? approval.policy_snapshot : evaluation.policy_snapshot,
  };
  const headers: Record<string, string> = {
    [HEADERS.idempotencyKey]: key,
    [HEADERS.jobHash]: job.job_hash,
    [HEADERS.grant]: grant,
  };
  if (approval) headers[HEADERS.approvalGranted] = 'true';
  return { key: job.job_id, value, headers };
}

/** When the job was released for dispatch: its grant, or its `allow` evaluation. */
export function releasedAt(state: ReleasedJobState): string {
  return state.approval ? state.approval.grant.at : state.evaluation.at;
}
