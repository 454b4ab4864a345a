import type { CommandMetadata, GrantDelegation } from '@signoff/approvals';
import { SignoffError, type CreateDelegationDto } from '@signoff/contracts';
import { canSeeTenant, type Principal } from '@signoff/runtime';
import { reviewerRoles } from '../../shared/job-access';

/**
 * The GrantDelegation command of the caller: the delegator is the caller (their verified token is
 * the authority delegated: its roles claim, tenants and topic globs as they are now); `roles` and
 * `tenants` of the body may only narrow it (a role or tenant the token lacks is 403 `forbidden`).
 * `starts_at` defaults to now. The decider checks the rest (self, period, overlaps, bounds).
 */
export function grantDelegationCommand(principal: Principal, input: CreateDelegationDto, delegationId: string, metadata: CommandMetadata): GrantDelegation {
  const held = reviewerRoles(principal);
  const roles = input.roles === undefined ? held : [...new Set(input.roles)];
  const missing = roles.filter((role) => !held.includes(role));
  if (missing.length > 0) throw new SignoffError('forbidden', 'you can only delegate roles your token holds', { roles: missing });
  if (input.tenants !== undefined && !input.tenants.every((tenant) => canSeeTenant(principal, tenant))) {
    throw new SignoffError('forbidden', 'you can only delegate tenants your token covers');
  }
  return {
    type: 'GrantDelegation',
    data: {
      delegation_id: delegationId,
      delegator: principal.sub,
      delegate: input.delegate,
      starts_at: input.starts_at ?? metadata.now,
      ends_at: input.ends_at,
      reason: input.reason,
      roles,
      tenants: input.tenants === undefined ? principal.tenants : [...new Set(input.tenants)],
      topics: principal.topics,
    },
    metadata,
  };
}
