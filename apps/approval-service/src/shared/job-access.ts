import type { Approval, ApprovalRequiredJob, JobAggregateState } from '@signoff/approvals';
import { ID_PATTERN, SignoffError } from '@signoff/contracts';
import { canDecideTopic, canSeeTenant, Principal } from '@signoff/runtime';

/** A job that exists: anything but `initial` and the transient `submitted`. */
export type ExistingJob = Exclude<JobAggregateState, { readonly status: 'initial' } | { readonly status: 'submitted' }>;

/**
 * The one 404 of the approval API: a missing job and a job of a tenant the caller may not see get
 * the same answer, so a probe learns nothing about jobs of other tenants.
 */
export function jobNotFound(jobId: string): SignoffError {
  return new SignoffError('not_found', `job ${jobId} not found`);
}

/**
 * A job id from a URL or a request, checked before it reaches the store: an id no submission
 * could have used (`ID_PATTERN`, the rule of `POST /jobs`) is a job that does not exist.
 */
export function checkedJobId(jobId: unknown): string {
  if (typeof jobId !== 'string' || !ID_PATTERN.test(jobId)) throw jobNotFound(typeof jobId === 'string' ? jobId.slice(0, 200) : '');
  return jobId;
}

/** The job if it exists and the caller may see its tenant; 404 `not_found` otherwise. */
export function visibleJob(principal: Principal, state: JobAggregateState, jobId: string): ExistingJob {
  if (state.status === 'initial' || state.status === 'submitted') throw jobNotFound(jobId);
  if (!canSeeTenant(principal, state.job.request.tenant)) throw jobNotFound(jobId);
  return state;
}

/** 403 `forbidden` unless the caller's topic globs cover the job's topic. */
export function assertMayDecide(principal: Principal, job: ExistingJob): void {
  const topic = job.job.request.topic;
  if (!canDecideTopic(principal, topic)) {
    throw new SignoffError('forbidden', `you may not decide on jobs of topic ${topic}`);
  }
}

/** Whether the caller may see (list, watch) an approval of this tenant and topic. */
export function maySeeApproval(principal: Principal, tenant: string, topic: string): boolean {
  return canSeeTenant(principal, tenant) && canDecideTopic(principal, topic);
}

/** The open approval of a job that awaits reviewers, else null. */
export function awaitingApproval(state: JobAggregateState): Approval | null {
  return state.status === 'APPROVAL_REQUIRED' ? (state as ApprovalRequiredJob).approval : null;
}

/** The roles a reviewer brings to a vote: the whole `roles` claim (domain roles included). */
export function reviewerRoles(principal: Principal): string[] {
  return [...(principal.claimedRoles ?? principal.roles)];
}
