import type { EventStore } from '../event-store.port';
import { SqlEventStore } from '../sql/sql.event-store';
import type { AuditTreeStore } from './audit-tree.store';

/**
 * The audit tree's storage of an event store: its own SQL database for PostgreSQL and PGlite,
 * null for KurrentDB (no SQL beside the events: the audit tree is not kept there).
 */
export function auditTreeStoreOf(store: EventStore): AuditTreeStore | null {
  return store instanceof SqlEventStore ? store.auditTree() : null;
}
