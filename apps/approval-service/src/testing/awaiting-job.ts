/*
 * Test fixture (unit tier): a job awaiting one reviewer, folded from the real decider's events.
 * Not imported by production code.
 */
import { decide, foldJob, JobAggregateState, SubmitJob } from '@signoff/approvals';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';

/** The snapshot the approval was requested under. */
export const REVIEWED_SNAPSHOT = `sha256:${'a'.repeat(64)}`;
/** The request of the job (tenant `acme`, topic `payments.prod`). */
export const reviewedRequest = normalizeJobRequest({ topic: 'payments.prod', submitted_by: 'agent-7', tenant: 'acme', payload: { amount: 1 } });

/** A job of `acme` awaiting one reviewer (any role), requested under REVIEWED_SNAPSHOT. */
export function awaitingJob(jobId: string): JobAggregateState {
  const submit: SubmitJob = {
    type: 'SubmitJob',
    data: {
      job_id: jobId,
      request: reviewedRequest,
      job_hash: jobHash(reviewedRequest),
      policy: {
        decision: 'require_human',
        rule_id: 'needs-review',
        reason: 'review',
        policy_snapshot: REVIEWED_SNAPSHOT,
        policy_version: '1',
        approval: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' },
      },
      approval_ref: 'apr_1',
    },
    metadata: { commandId: 's-1', correlationId: 's-1', actor: 'agent-7', now: '2025-03-01T10:00:00.000Z' },
  };
  const result = decide(submit, foldJob([]));
  if (!result.ok) throw new Error(result.message);
  return foldJob(result.events);
}
