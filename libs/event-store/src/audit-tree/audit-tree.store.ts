/**
 * Where the audit tree (issue 14) keeps its leaves and signed heads: beside the events, in the
 * store's own SQL (schema `audit_log`, PostgreSQL and PGlite). The tree itself is built by the
 * service that reads the log (apps/approval-service `audit/`); this port only stores what it made.
 */

/** One leaf of the tree: which event it logged, where that event was, and its hash. */
export interface AuditLeaf {
  /** 0-based; leaves are gap-free. */
  readonly leaf_index: number;
  readonly stream_id: string;
  readonly event_id: string;
  /** The event's position in the store (to resume reading the log after the last leaf). */
  readonly position: bigint;
  /** The tenant whose event it is (job streams), null for control-plane events (policy, delegations, …). */
  readonly tenant: string | null;
  /** Lower-case hex of the 32-byte leaf hash. */
  readonly leaf_hash: string;
}

/** A signed tree head as stored (see @signoff/audit-proof). */
export interface StoredTreeHead {
  readonly tree_size: number;
  readonly root_hash: string;
  readonly timestamp: number;
  readonly key_id: string;
  readonly signature: string;
}

/** The stored leaves of `leaf_index` differ from the ones being appended: the log order changed under the tree. */
export class AuditTreeDivergedError extends Error {
  readonly code = 'audit_tree_diverged';
  constructor(readonly leafIndex: number) {
    super(`the stored audit tree has another leaf at index ${leafIndex}: the log changed under it`);
    this.name = 'AuditTreeDivergedError';
  }
}

export abstract class AuditTreeStore {
  /** Creates the schema when missing (idempotent; concurrent starters serialise on a lock). */
  abstract migrate(): Promise<void>;
  /** Leaves from `fromIndex`, in index order, at most `limit`. */
  abstract readLeaves(fromIndex: number, limit: number): Promise<AuditLeaf[]>;
  /**
   * Stores consecutive leaves in one statement. Leaves already stored with the same content (another
   * instance, or a repeat after a crash) are accepted; different content at an index is an
   * {@link AuditTreeDivergedError}.
   */
  abstract appendLeaves(leaves: readonly AuditLeaf[]): Promise<void>;
  /** The leaves that logged an event id (usually one; ids are unique per stream). */
  abstract findLeaves(eventId: string): Promise<AuditLeaf[]>;
  /** Stores a signed head; a head of the same size already stored wins (one head per size). */
  abstract appendHead(head: StoredTreeHead): Promise<void>;
  /** The newest head (largest size), or null. */
  abstract latestHead(): Promise<StoredTreeHead | null>;
  /** Heads in size order from `fromSize` (inclusive), at most `limit`. */
  abstract readHeads(fromSize: number, limit: number): Promise<StoredTreeHead[]>;
  /** The smallest head of at least `size`, or null. */
  abstract headCovering(size: number): Promise<StoredTreeHead | null>;
  /**
   * How many events of the log come after the event at `position` (all events for null), counted
   * up to `cap`: the tree's lag.
   */
  abstract eventsAfter(position: bigint | null, cap: number): Promise<number>;
}
