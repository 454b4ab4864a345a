import type { Approval, ApprovalRequiredJob, JobAggregateState } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import type { ExistingJob } from '@signoff/core';
import { canDecideTopic, mayReadJob, Principal, ReadableJob } from '@signoff/runtime';

/** 403 `forbidden` unless the caller's topic globs cover the job's topic. */
export function assertMayDecide(principal: Principal, job: ExistingJob): void {
  if (!canDecideTopic(principal, job.job.request.topic)) {
    // The topic is not named: the caller learns that it may not decide, not what the job is.
    throw new SignoffError('forbidden', 'your topics do not cover this job');
  }
}

/** Whether the caller may see (list, watch) an approval of this job (its stored request): the read rule of every job read. */
export function maySeeApproval(principal: Principal, job: ReadableJob): boolean {
  return mayReadJob(principal, job);
}

/** The open approval of a job that awaits reviewers, else null. */
export function awaitingApproval(state: JobAggregateState): Approval | null {
  return state.status === 'APPROVAL_REQUIRED' ? (state as ApprovalRequiredJob).approval : null;
}

/** The roles a reviewer brings to a vote: the whole `roles` claim (domain roles included). */
export function reviewerRoles(principal: Principal): string[] {
  return [...(principal.claimedRoles ?? principal.roles)];
}
