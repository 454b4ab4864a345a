/**
 * @signoff/event-store: the event store port, its adapters (PostgreSQL, PGlite, KurrentDB), the
 * factory from `EVENT_STORE_URL` and the Nest module. See libs/event-store/README.md.
 */
export {
  EventStore,
  type AllFilter,
  type AppendOptions,
  type AppendResult,
  type CurrentRevision,
  type EventData,
  type ExpectedRevision,
  type LogReader,
  type LogReaderOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadDirection,
  type ReadStreamOptions,
  type RecordedEvent,
  type RecordedEventInfo,
  type StreamAppend,
  type StreamAppendOutcome,
  type SubscribeOptions,
  type SubscriptionHandle,
  type SubscriptionHandler,
} from './event-store.port';
export {
  DuplicateEventIdError,
  EventStoreArgumentError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreUnavailableError,
  SubscriptionCheckpointConflictError,
  SubscriptionLeaseLostError,
  WrongExpectedVersionError,
  type EventStoreErrorCode,
} from './event-store.errors';
export { SIGNOFF_UUID_NAMESPACE, deterministicUuid, isUuid } from './deterministic-uuid.helper';
export { createEventStore, type EventStoreOptions } from './event-store.factory';
export {
  DEFAULT_SUBSCRIPTION_LEASE_MS,
  type SubscriptionLeaseChange,
  type SubscriptionLeaseOptions,
} from './catch-up.event-store';
export { parseEventStoreUrl, type EventStoreTarget } from './event-store.url';
export {
  EVENT_STORE_MODULE_OPTIONS,
  EventStoreModule,
  type EventStoreModuleAsyncOptions,
  type EventStoreModuleOptions,
} from './event-store.module';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres.event-store';
export { PgliteEventStore, type PgliteLocation } from './pglite/pglite.event-store';
export { KurrentDbEventStore, type KurrentDbEventStoreOptions } from './kurrentdb/kurrentdb.event-store';
export { AuditTreeStore, AuditTreeDivergedError, type AuditLeaf, type StoredTreeHead } from './audit-tree/audit-tree.store';
export { auditTreeStoreOf } from './audit-tree/audit-tree.of';
