import type { CommandMetadata, Delegation, RevokeDelegation } from '@signoff/approvals';
import type { RevokeDelegationDto } from '@signoff/contracts';
import { canSeeTenant, type Principal } from '@signoff/runtime';

/**
 * Whether the caller revokes as an admin: the admin role, and tenants that reach the delegation
 * (one of its tenants, or either side covering all tenants).
 */
export function revokesAsAdmin(principal: Principal, delegation: Pick<Delegation, 'tenants'>): boolean {
  if (!principal.roles.has('admin')) return false;
  if (principal.tenants === null || delegation.tenants === null) return true;
  return delegation.tenants.some((tenant) => canSeeTenant(principal, tenant));
}

/** The RevokeDelegation command of the caller for `delegation` (as the read model knows it). */
export function revokeDelegationCommand(principal: Principal, delegation: Delegation, input: RevokeDelegationDto, metadata: CommandMetadata): RevokeDelegation {
  return {
    type: 'RevokeDelegation',
    data: { delegation_id: delegation.delegation_id, revoked_by: principal.sub, as_admin: revokesAsAdmin(principal, delegation), reason: input.reason ?? null },
    metadata,
  };
}
