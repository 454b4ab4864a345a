import { randomBytes } from 'node:crypto';
import { releasedRequestOf, type ReleasedJobState } from '@signoff/approvals';
import { DEFAULT_TENANT, dispatchMessage, JobRef } from '@signoff/contracts';
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

/**
 * The dispatch message of a released job's current, claimed attempt (built by
 * `dispatchMessage` of @signoff/contracts: key = job_id, the value of DESIGN section 6, headers
 * `idempotency-key`, `job-hash`, `signoff-grant` and, on approved jobs only, `approval_granted`).
 * The approval block carries the snapshot the approval was bound to and the hash its grant binds,
 * which the decider checked at approve time; the policy snapshot is the approval's, or the `allow`
 * evaluation's. The request and its hash are the released one (`releasedRequestOf`): for a grant
 * that binds an amended request (edit before approve), the amendment, so the worker runs what
 * the reviewers approved and its hash check holds.
 */
export function toDispatchMessage(state: ReleasedJobState, grant: string): OutboundMessage {
  const { job, approval, dispatch, evaluation } = state;
  const key = dispatch.idempotency_key;
  if (key === null) throw new Error(`job ${job.job_id} has no claimed dispatch to publish`);
  const released = releasedRequestOf(state);
  return dispatchMessage({
    job_id: job.job_id,
    request: released.request,
    ...(approval
      ? {
          approval: {
            approval_id: approval.grant.approval_id,
            approved_by: approval.grant.approved_by,
            policy_snapshot: approval.policy_snapshot,
            job_hash: released.job_hash,
          },
        }
      : {}),
    attempt: dispatch.attempt,
    idempotency_key: key,
    job_hash: released.job_hash,
    policy_snapshot: approval ? approval.policy_snapshot : evaluation.policy_snapshot,
    grant,
  });
}

/** When the job was released for dispatch: its grant, or its `allow` evaluation. */
export function releasedAt(state: ReleasedJobState): string {
  return state.approval ? state.approval.grant.at : state.evaluation.at;
}
