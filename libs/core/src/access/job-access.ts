import type { JobAggregateState } from '@signoff/approvals';
import { ID_PATTERN, JobRef, SignoffError } from '@signoff/contracts';
import { canSeeTenant, defaultTenantOf, mayReadJob, Principal } from '@signoff/runtime';

/** A job that exists: anything but `initial` and the transient `submitted`. */
export type ExistingJob = Exclude<JobAggregateState, { readonly status: 'initial' } | { readonly status: 'submitted' }>;

/**
 * The one 404 of every route that names a job: a missing job, a job of a tenant the caller may
 * not see and a job the caller may not read get the same answer (the caller's own id in it, no
 * tenant), so a probe learns nothing about jobs it may not see.
 */
export function jobNotFound(jobId: string): SignoffError {
  return new SignoffError('not_found', `job ${jobId} not found`);
}

/** A single query-string or gRPC value: '' and absent are "not sent"; a repeated parameter is not a value. */
function sent(value: unknown): string | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : null;
}

/**
 * The job a read or a decision names: the job id from the URL or the request and the optional
 * `tenant` (query parameter or gRPC field); without one, the token's only tenant when its
 * `tenants` claim lists exactly one, else `default` (DESIGN section 12). Ids no submission could
 * have used, and tenants the caller may not see, are 404 `not_found` before anything is read.
 */
export function requestedJobRef(principal: Principal, jobId: unknown, tenant?: unknown): JobRef {
  const id = typeof jobId === 'string' ? jobId : '';
  if (!ID_PATTERN.test(id)) throw jobNotFound(id.slice(0, 200));
  const named = sent(tenant);
  const resolved = named === undefined ? defaultTenantOf(principal) : named;
  if (resolved === null || !ID_PATTERN.test(resolved) || !canSeeTenant(principal, resolved)) throw jobNotFound(id);
  return { tenant: resolved, jobId: id };
}

/** The job if it exists and its tenant is visible to the caller (decisions: approve, reject); 404 otherwise. */
export function existingJob(principal: Principal, state: JobAggregateState, ref: JobRef): ExistingJob {
  if (state.status === 'initial' || state.status === 'submitted') throw jobNotFound(ref.jobId);
  if (!canSeeTenant(principal, state.job.request.tenant)) throw jobNotFound(ref.jobId);
  return state;
}

/**
 * The job if the caller may read it (`mayReadJob`: tenant, then role: admins and auditors all of
 * their tenants, reviewers within their topics, submitters their own jobs); 404 `not_found`
 * otherwise, the same answer as for a job that does not exist. Every read by id goes through here.
 */
export function visibleJob(principal: Principal, state: JobAggregateState, ref: JobRef): ExistingJob {
  const job = existingJob(principal, state, ref);
  if (!mayReadJob(principal, job.job.request)) throw jobNotFound(ref.jobId);
  return job;
}
