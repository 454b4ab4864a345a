import type { SubscriptionLeaseOptions } from './catch-up.event-store';
import type { EventStore } from './event-store.port';
import { parseEventStoreUrl } from './event-store.url';
import { KurrentDbEventStore, type KurrentDbEventStoreOptions } from './kurrentdb/kurrentdb.event-store';
import { PgliteEventStore } from './pglite/pglite.event-store';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres.event-store';

/** Adapter settings for {@link createEventStore}; each applies only to its adapter. */
export interface EventStoreOptions {
  readonly postgres?: PostgresEventStoreOptions;
  readonly kurrentdb?: KurrentDbEventStoreOptions;
  /** How durable subscriptions hold their lease (every adapter). */
  readonly subscriptions?: SubscriptionLeaseOptions;
}

/**
 * Opens the event store an `EVENT_STORE_URL` names (see {@link parseEventStoreUrl}), ready to use:
 * SQL schemas are migrated, a KurrentDB connection is checked. Rejects with an
 * EventStoreArgumentError for an unsupported URL, EventStoreUnavailableError when the store
 * cannot be reached.
 */
export async function createEventStore(url: string, options: EventStoreOptions = {}): Promise<EventStore> {
  const store = await openAdapter(url, options);
  if (options.subscriptions) store.configureSubscriptionLeases(options.subscriptions);
  return store;
}

function openAdapter(url: string, options: EventStoreOptions): Promise<PostgresEventStore | PgliteEventStore | KurrentDbEventStore> {
  const target = parseEventStoreUrl(url);
  switch (target.kind) {
    case 'postgres':
      return PostgresEventStore.connect(target.url, options.postgres);
    case 'pglite':
      return PgliteEventStore.open(target.location);
    case 'kurrentdb':
      return KurrentDbEventStore.connect(target.url, options.kurrentdb);
    default: {
      const unreachable: never = target;
      throw new Error(`unhandled event store target ${JSON.stringify(unreachable)}`);
    }
  }
}
