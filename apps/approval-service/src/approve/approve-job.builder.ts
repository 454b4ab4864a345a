import type { ApproveJob, CommandMetadata, JobAggregateState } from '@signoff/approvals';
import type { AmendedRequestInput, ApproveDto, JobRef, JobRequest } from '@signoff/contracts';
import { ActivePolicyView, existingJob } from '@signoff/core';
import { jobHash } from '@signoff/policy-engine';
import type { Principal, SnapshotMode } from '@signoff/runtime';
import type { DelegatedVote } from '../delegation/shared/delegation-streams';
import { voterOf } from '../delegation/shared/delegated-voter';
import { honours } from '../shared/approval-integrity';
import { assertMayDecide, awaitingApproval } from '../shared/job-access';
import { amendmentFor } from './amended-request';

/**
 * The hash of a stored request, once per request object: a fold keeps the request's object from
 * revision to revision, so the 1,000 approves of a contended job (deciding on the projection's
 * fold, then on the winner's state) hash it once instead of twice each (RFC 8785 canonicalization
 * was the biggest item of our own in a contended round, issue 15). Stored requests are never
 * changed in place; a read of the stream makes new objects, hashed anew.
 */
const storedRequestHashes = new WeakMap<JobRequest, string>();

export function storedRequestHash(request: JobRequest): string {
  let hash = storedRequestHashes.get(request);
  if (hash === undefined) {
    hash = jobHash(request);
    storedRequestHashes.set(request, hash);
  }
  return hash;
}

/** What an approve decides on besides the job's state (read again on each conflict retry). */
export interface ApproveJobInput {
  readonly principal: Principal;
  readonly ref: JobRef;
  readonly input: ApproveDto;
  /** `input.amended_request`, checked (`parseAmendedRequest`); null when the vote approves the original. */
  readonly amended?: AmendedRequestInput | null;
  /** The policy active now; asked only once the caller may decide (503 `policy_unavailable` before any is). */
  readonly activePolicy: () => ActivePolicyView;
  readonly snapshotMode: SnapshotMode;
  /** Made once per request, so a retried vote keeps its id. */
  readonly approvalId: string;
  readonly metadata: CommandMetadata;
  /** `on_behalf_of` resolved (the chain, or the refusal raised after the job's own checks). */
  readonly delegated?: DelegatedVote;
}

/**
 * The ApproveJob command for the job in `state`: 404 unless the job exists in a tenant the caller
 * sees, 403 unless the caller's topics cover it; then what the decider checks the vote against
 * (the active snapshot, whether it honours the approval's own in decision mode, the hash of the
 * stored request, what the reviewer looked at) and, for an amended request on an open approval,
 * the amendment with its hash and the active policy's decision for it (`amendmentFor`).
 */
export function approveJobCommand(request: ApproveJobInput, state: JobAggregateState): ApproveJob {
  const { principal, ref, input } = request;
  const job = existingJob(principal, state, ref);
  assertMayDecide(principal, job);
  const voter = voterOf(principal, job, request.delegated);
  const active = request.activePolicy();
  const approval = awaitingApproval(job);
  const equivalent = approval !== null && active.snapshot !== approval.policy_snapshot && honours(request.snapshotMode, active, job.job.request, approval);
  // Only an open approval takes an amendment; on any other the decider answers as without one.
  const amendment = approval !== null && request.amended ? amendmentFor(request.amended, ref, job.job, active) : undefined;
  return {
    type: 'ApproveJob',
    data: {
      job_id: ref.jobId,
      ...voter,
      reason: input.reason ?? null,
      active_policy_snapshot: active.snapshot,
      snapshot_equivalent: equivalent,
      current_job_hash: storedRequestHash(job.job.request),
      reviewed_snapshot: input.policy_snapshot,
      reviewed_job_hash: input.job_hash,
      approval_id: request.approvalId,
      ...(amendment ? { amendment } : {}),
    },
    metadata: request.metadata,
  };
}
