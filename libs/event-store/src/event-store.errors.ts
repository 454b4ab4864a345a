import type { CurrentRevision, ExpectedRevision } from './event-store.port';

/** Stable codes of the event store's errors. */
export type EventStoreErrorCode =
  | 'wrong_expected_version'
  | 'duplicate_event_id'
  | 'invalid_argument'
  | 'store_unavailable'
  | 'store_closed'
  | 'store_failure'
  | 'checkpoint_conflict';

/** Base of every error the event store rejects with; adapters never leak driver errors. */
export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

function describeRevision(revision: ExpectedRevision | CurrentRevision): string {
  return typeof revision === 'bigint' ? revision.toString() : revision;
}

/**
 * The stream was not where the writer expected it: someone else appended first (or the stream
 * does / does not exist). Reload, decide again and retry.
 */
export class WrongExpectedVersionError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    readonly actual: CurrentRevision,
  ) {
    super(
      'wrong_expected_version',
      `Wrong expected version for stream "${streamId}": expected ${describeRevision(expected)}, actual ${describeRevision(actual)}`,
    );
  }
}

/**
 * Some of the event ids are already in the stream, but not as an exact repeat of this append at
 * this place (that would have succeeded idempotently). Event ids are unique per stream.
 */
export class DuplicateEventIdError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
  ) {
    super('duplicate_event_id', `Stream "${streamId}" already holds event id(s) ${eventIds.join(', ')} elsewhere`);
  }
}

/** A programming error of the caller: bad stream name, event, id, revision or option. */
export class EventStoreArgumentError extends EventStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_argument', message, options);
  }
}

/**
 * The store cannot be reached or did not answer in time (connection lost, timeout, too many
 * connections, lock or serialization failure). Transient: callers may retry; HTTP maps it to 503.
 */
export class EventStoreUnavailableError extends EventStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('store_unavailable', message, options);
  }
}

/** The store instance was closed. */
export class EventStoreClosedError extends EventStoreError {
  constructor() {
    super('store_closed', 'The event store is closed');
  }
}

/**
 * Reported to a subscription's `onError` (not thrown): another live instance of the same
 * subscription name moved the checkpoint in between. The checkpoint never moves backwards; both
 * instances keep handling events (at least once overall).
 */
export class SubscriptionCheckpointConflictError extends EventStoreError {
  constructor(readonly subscription: string) {
    super('checkpoint_conflict', `Checkpoint of subscription "${subscription}" was moved by another instance`);
  }
}

/**
 * A durable subscription's lease was taken over by another instance (this one stopped renewing
 * it for longer than the lease ttl, e.g. a long pause): it stops handling and stands by. The
 * batch it had in flight may be handled again by the new owner (at least once under failover).
 */
export class SubscriptionLeaseLostError extends SubscriptionCheckpointConflictError {
  constructor(subscription: string) {
    super(subscription);
    this.message = `Subscription "${subscription}": another instance took over its lease; this one stands by`;
  }
}
