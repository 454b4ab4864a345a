import { Query } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';
import type { DelegationView } from '../shared/delegations.projection';

/** `GET /delegations`: the caller's (given and received), or with `tenant` (admin, auditor) all that concern it. */
export class ListDelegationsQuery extends Query<{ items: DelegationView[]; truncated: boolean }> {
  constructor(
    readonly principal: Principal,
    readonly filter: { readonly tenant?: string; readonly status?: string },
  ) {
    super();
  }
}
