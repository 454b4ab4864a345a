import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { delegationStatus, evolveDelegation, type Delegation, type DelegationStatus } from '@signoff/approvals';
import { DELEGATION_EVENT_TYPES, DELEGATION_STREAM_PREFIX, sameIdentity, type DelegationEvent } from '@signoff/contracts';
import { EventStore, RecordedEvent, SubscriptionHandle } from '@signoff/event-store';
import { canSeeTenant, type Principal } from '@signoff/runtime';

/** A delegation as the API shows it: the recorded facts and where it stands now. */
export interface DelegationView extends Delegation {
  readonly status: DelegationStatus;
}

/** The most delegations one list answers (newest first); `truncated` says when there were more. */
export const MAX_LISTED_DELEGATIONS = 500;

export interface DelegationListQuery {
  readonly principal: Principal;
  readonly now: Date;
  /** Admins and auditors: every delegation whose tenants cover this tenant (else: the caller's own). */
  readonly tenant?: string;
  readonly status?: DelegationStatus;
}

/** Whether a delegation's recorded tenants (null = all) may concern `tenant`. */
export function coversTenant(delegation: Pick<Delegation, 'tenants'>, tenant: string): boolean {
  return delegation.tenants === null || delegation.tenants.includes(tenant);
}

/**
 * The delegations read model of this instance ("who may act for whom now"): every delegation by
 * id, rebuilt from the log at each start (non-durable `subscribeFromStart`, like the pending
 * approvals). It answers the lists and finds the delegator of an id for a revocation; votes on
 * behalf resolve their chain from the delegator streams themselves (DelegationStreams), never
 * from here, so a lag of this model can show a revoked delegation a moment longer, never honour it.
 */
@Injectable()
export class DelegationsProjection implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DelegationsProjection');
  private readonly byId = new Map<string, Delegation>();
  private handle: SubscriptionHandle | null = null;

  constructor(private readonly store: EventStore) {}

  onApplicationBootstrap(): void {
    this.handle = this.store.subscribeFromStart<DelegationEvent>('approval-service.delegations', {
      filter: { streamPrefix: DELEGATION_STREAM_PREFIX, eventTypes: DELEGATION_EVENT_TYPES },
      batchSize: 1000,
      pollIntervalMs: 50,
      handler: (event) => this.apply(event),
      onError: (error) => this.logger.warn(`reading the event log failed, retrying: ${(error as Error).message}`),
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.handle?.stop();
    this.handle = null;
  }

  apply(event: RecordedEvent<DelegationEvent>): void {
    const id = event.data.delegation_id;
    const known = this.byId.get(id);
    if (event.type === 'DelegationGranted' && known !== undefined) return;
    if (event.type === 'DelegationRevoked' && known === undefined) return;
    const after = evolveDelegation({ delegations: known ? [known] : [] }, event).delegations[0];
    if (after) this.byId.set(id, after);
  }

  get(id: string): Delegation | null {
    return this.byId.get(id) ?? null;
  }

  /**
   * The caller's delegations, given and received; with `tenant` (admins and auditors of that
   * tenant), every delegation that may concern it. Newest first, at most MAX_LISTED_DELEGATIONS.
   */
  list(query: DelegationListQuery): { items: DelegationView[]; truncated: boolean } {
    const { principal, tenant } = query;
    const nowMs = query.now.getTime();
    const all = tenant !== undefined;
    const items: DelegationView[] = [];
    for (const delegation of this.byId.values()) {
      const mine = sameIdentity(delegation.delegator, principal.sub) || sameIdentity(delegation.delegate, principal.sub);
      if (all ? !coversTenant(delegation, tenant) || !canSeeTenant(principal, tenant) : !mine) continue;
      const status = delegationStatus(delegation, nowMs);
      if (query.status !== undefined && status !== query.status) continue;
      items.push({ ...delegation, status });
    }
    items.sort((a, b) => (a.granted_at < b.granted_at ? 1 : a.granted_at > b.granted_at ? -1 : a.delegation_id.localeCompare(b.delegation_id)));
    return { items: items.slice(0, MAX_LISTED_DELEGATIONS), truncated: items.length > MAX_LISTED_DELEGATIONS };
  }
}
