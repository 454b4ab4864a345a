import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import type { DelegationStatus } from '@signoff/approvals';
import { ID_PATTERN, SignoffError } from '@signoff/contracts';
import { Clock } from '@signoff/core';
import { DelegationsProjection, type DelegationView } from '../shared/delegations.projection';
import { ListDelegationsQuery } from './list-delegations.query';

const STATUSES: readonly DelegationStatus[] = ['scheduled', 'active', 'ended', 'revoked'];

/**
 * The caller's delegations from the read model; `tenant` (admins and auditors only, a tenant of
 * their token) lists every delegation that may concern that tenant. `status` filters.
 */
@QueryHandler(ListDelegationsQuery)
export class ListDelegationsHandler implements IQueryHandler<ListDelegationsQuery> {
  constructor(
    private readonly projection: DelegationsProjection,
    private readonly clock: Clock,
  ) {}

  async execute({ principal, filter }: ListDelegationsQuery): Promise<{ items: DelegationView[]; truncated: boolean }> {
    const { tenant, status } = filter;
    if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) {
      throw new SignoffError('invalid_request', 'unknown status', { errors: [{ field: 'status', message: `status must be one of ${STATUSES.join(', ')}` }] });
    }
    if (tenant !== undefined) {
      if (!ID_PATTERN.test(tenant)) throw new SignoffError('invalid_request', 'tenant must be an id', { errors: [{ field: 'tenant', message: 'tenant must be an id' }] });
      if (!principal.roles.has('admin') && !principal.roles.has('auditor')) throw new SignoffError('forbidden', 'listing the delegations of a tenant needs the admin or auditor role');
    }
    return this.projection.list({ principal, now: this.clock.now(), ...(tenant !== undefined ? { tenant } : {}), ...(status !== undefined ? { status: status as DelegationStatus } : {}) });
  }
}
