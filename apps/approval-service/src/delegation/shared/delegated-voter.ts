import type { VoteDelegation } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import type { ExistingJob } from '@signoff/core';
import { canDecideTopic, type Principal } from '@signoff/runtime';
import { reviewerRoles } from '../../shared/job-access';
import type { DelegatedVote } from './delegation-streams';

/** Who a vote counts as, with which roles, and (under a delegation) who cast it through which chain. */
export interface Voter {
  readonly reviewer: string;
  readonly reviewer_roles: string[];
  readonly delegation?: VoteDelegation;
}

/**
 * The voter of an approve or reject. In one's own name: the caller and their token's roles. On
 * behalf of someone (`delegated`, resolved by DelegationStreams before the job is read): the
 * delegator and the roles every link carried, once the job passed the caller's own checks (tenant
 * 404, topics 403, done by the builder before this), and only if EVERY link's recorded authority
 * covers the job: its tenant in the link's tenants, its topic under the link's topic globs (else
 * 403 `forbidden`). The delegate never gets more than the delegator had, nor more than it has.
 */
export function voterOf(principal: Principal, job: ExistingJob, delegated: DelegatedVote | undefined): Voter {
  if (delegated === undefined) return { reviewer: principal.sub, reviewer_roles: reviewerRoles(principal) };
  if (!delegated.ok) throw delegated.error;
  const { chain } = delegated;
  const { tenant, topic } = job.job.request;
  const covered = chain.authorities.every(
    (authority) =>
      (authority.tenants === null || authority.tenants.includes(tenant)) &&
      canDecideTopic({ sub: chain.voter, roles: new Set(), topics: authority.topics, tenants: authority.tenants }, topic),
  );
  if (!covered) throw new SignoffError('forbidden', `the delegation from ${chain.voter} does not cover this job`);
  return {
    reviewer: chain.voter,
    reviewer_roles: [...chain.roles],
    delegation: { cast_by: chain.cast_by, on_behalf_of: chain.links },
  };
}
