import { GrantDelegationHandler } from './grant-delegation/grant-delegation.handler';
import { GrantDelegationHttpController } from './grant-delegation/grant-delegation.http.controller';
import { ListDelegationsHandler } from './list-delegations/list-delegations.handler';
import { ListDelegationsHttpController } from './list-delegations/list-delegations.http.controller';
import { RevokeDelegationHandler } from './revoke-delegation/revoke-delegation.handler';
import { RevokeDelegationHttpController } from './revoke-delegation/revoke-delegation.http.controller';
import { DelegationAuditRelay } from './shared/delegation-audit.relay';
import { DelegationStreams } from './shared/delegation-streams';
import { DelegationsProjection } from './shared/delegations.projection';

/*
 * The delegation use cases (issue 12 section 4), listed once for ApprovalModule: grant, list and
 * revoke delegations; DelegationStreams also resolves the `on_behalf_of` of approve and reject;
 * DelegationAuditRelay publishes the delegation events to `signoff.audit`.
 */
export const DELEGATION_CONTROLLERS = [GrantDelegationHttpController, ListDelegationsHttpController, RevokeDelegationHttpController];
export const DELEGATION_HANDLERS = { commands: [GrantDelegationHandler, RevokeDelegationHandler], queries: [ListDelegationsHandler] };
export const DELEGATION_PROVIDERS = [DelegationStreams, DelegationsProjection, DelegationAuditRelay];
