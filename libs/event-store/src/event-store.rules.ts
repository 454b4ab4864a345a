/**
 * The adapter-independent rules of the store: argument validation, the expected-revision check,
 * the recognition of an idempotent repeat and global-log filters. Pure functions, shared by the
 * adapters and unit-tested on their own.
 */
import { isUuid } from './deterministic-uuid.helper';
import { EventStoreArgumentError } from './event-store.errors';
import type {
  AllFilter,
  AppendResult,
  CurrentRevision,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
} from './event-store.port';

/** An event after validation: lower-case id, metadata defaulted to `{}`. */
export interface ValidEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function assertJson(value: unknown, what: string): void {
  try {
    if (JSON.stringify(value) === undefined) throw new Error('not representable');
  } catch (error) {
    throw new EventStoreArgumentError(`${what} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** A stream id is any non-empty string. */
export function validateStreamId(stream: unknown): string {
  if (typeof stream !== 'string' || stream.length === 0) {
    throw new EventStoreArgumentError(`stream id must be a non-empty string, got ${JSON.stringify(stream)}`);
  }
  return stream;
}

/** `'any' | 'no_stream' | 'stream_exists' | bigint >= 0`. */
export function validateExpectedRevision(expected: unknown): ExpectedRevision {
  if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') return expected;
  if (typeof expected === 'bigint' && expected >= 0n) return expected;
  throw new EventStoreArgumentError(
    `expectedRevision must be 'any', 'no_stream', 'stream_exists' or a bigint >= 0n, got ${String(expected)}`,
  );
}

/** Checks a batch to append; returns it normalised (lower-case ids, metadata `{}` when omitted). */
export function validateEvents(events: readonly NewEvent[]): ValidEvent[] {
  if (!Array.isArray(events)) throw new EventStoreArgumentError('events must be an array');
  const seen = new Set<string>();
  return events.map((event: NewEvent, index) => {
    const at = `events[${index}]`;
    if (!isPlainObject(event)) throw new EventStoreArgumentError(`${at} must be an object`);
    if (!isUuid(event.id)) throw new EventStoreArgumentError(`${at}.id must be a UUID, got ${JSON.stringify(event.id)}`);
    const id = event.id.toLowerCase();
    if (seen.has(id)) throw new EventStoreArgumentError(`${at}.id ${id} appears twice in the batch`);
    seen.add(id);
    if (typeof event.type !== 'string' || event.type.length === 0) {
      throw new EventStoreArgumentError(`${at}.type must be a non-empty string`);
    }
    if (typeof event.data !== 'object' || event.data === null) {
      throw new EventStoreArgumentError(`${at}.data must be a JSON object or array`);
    }
    assertJson(event.data, `${at}.data`);
    const metadata = event.metadata === undefined ? {} : event.metadata;
    if (!isPlainObject(metadata)) throw new EventStoreArgumentError(`${at}.metadata must be a JSON object`);
    assertJson(metadata, `${at}.metadata`);
    return { id, type: event.type, data: event.data, metadata };
  });
}

function assertCount(value: unknown, what: string): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)) {
    throw new EventStoreArgumentError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
}

/** Checks readStream options. */
export function validateReadStreamOptions(options: ReadStreamOptions): void {
  if (options.fromRevision !== undefined && (typeof options.fromRevision !== 'bigint' || options.fromRevision < 0n)) {
    throw new EventStoreArgumentError(`fromRevision must be a bigint >= 0n, got ${String(options.fromRevision)}`);
  }
  if (options.direction !== undefined && options.direction !== 'forwards' && options.direction !== 'backwards') {
    throw new EventStoreArgumentError(`direction must be 'forwards' or 'backwards', got ${String(options.direction)}`);
  }
  assertCount(options.maxCount, 'maxCount');
}

/** Checks a filter of the global log. */
export function validateFilter(filter: AllFilter | undefined): void {
  if (filter === undefined) return;
  if (filter.streamPrefix !== undefined && typeof filter.streamPrefix !== 'string') {
    throw new EventStoreArgumentError('filter.streamPrefix must be a string');
  }
  if (filter.eventTypes !== undefined && (!Array.isArray(filter.eventTypes) || filter.eventTypes.some((t) => typeof t !== 'string'))) {
    throw new EventStoreArgumentError('filter.eventTypes must be an array of strings');
  }
}

/** Checks readAll options. */
export function validateReadAllOptions(options: ReadAllOptions): void {
  if (options.fromPosition !== undefined && (typeof options.fromPosition !== 'bigint' || options.fromPosition < 0n)) {
    throw new EventStoreArgumentError(`fromPosition must be a bigint >= 0n, got ${String(options.fromPosition)}`);
  }
  assertCount(options.maxCount, 'maxCount');
  validateFilter(options.filter);
}

/** Checks a subscription name and its numeric options. */
export function validateSubscription(
  name: unknown,
  options: { batchSize?: number; pollIntervalMs?: number; leaseMs?: number; checkpointIntervalMs?: number; handler?: unknown; handleBatch?: unknown },
): void {
  if (typeof name !== 'string' || name.length === 0) throw new EventStoreArgumentError('subscription name must be a non-empty string');
  const perEvent = typeof options.handler === 'function';
  const perBatch = typeof options.handleBatch === 'function';
  if (perEvent === perBatch || (options.handler !== undefined && !perEvent) || (options.handleBatch !== undefined && !perBatch)) {
    throw new EventStoreArgumentError('subscription handler must be a function: give exactly one of handler and handleBatch');
  }
  if (options.batchSize !== undefined && (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1)) {
    throw new EventStoreArgumentError('batchSize must be a positive integer');
  }
  assertCount(options.pollIntervalMs, 'pollIntervalMs');
  assertCount(options.checkpointIntervalMs, 'checkpointIntervalMs');
  if (options.leaseMs !== undefined && (!Number.isSafeInteger(options.leaseMs) || options.leaseMs < 10)) {
    throw new EventStoreArgumentError('leaseMs must be an integer of at least 10');
  }
}

/** Does a stream whose last revision is `current` satisfy `expected`? */
export function expectationHolds(expected: ExpectedRevision, current: CurrentRevision): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === 'no_stream';
    case 'stream_exists':
      return current !== 'no_stream';
    default:
      return current === expected;
  }
}

/**
 * An expectation as the two parameters of the SQL append's check: the exact revision the head must
 * have (-1 for no stream, null for any) and whether the stream must exist.
 */
export interface HeadCondition {
  readonly exact: bigint | null;
  readonly mustExist: boolean;
}

/** Translates an expectation into the SQL append's {@link HeadCondition}. */
export function headCondition(expected: ExpectedRevision): HeadCondition {
  switch (expected) {
    case 'any':
      return { exact: null, mustExist: false };
    case 'no_stream':
      return { exact: -1n, mustExist: false };
    case 'stream_exists':
      return { exact: null, mustExist: true };
    default:
      return { exact: expected, mustExist: false };
  }
}

/** An event of the batch that is already stored in the target stream. */
export interface StoredEventRef {
  readonly id: string;
  readonly revision: bigint;
  readonly position: bigint;
}

/** What to make of batch ids that are already in the stream. */
export type RepeatVerdict =
  | { readonly kind: 'none' }
  | { readonly kind: 'idempotent'; readonly result: AppendResult }
  | { readonly kind: 'duplicate'; readonly ids: readonly string[] };

/**
 * EventStoreDB's idempotency rule: if every id of the batch is stored, consecutively and in batch
 * order, at the place the expectation names (right after `expected`, at 0 for `no_stream`,
 * anywhere for `any`/`stream_exists`), the append is a repeat and its original result stands.
 * Any other overlap is a duplicate.
 */
export function classifyRepeat(batchIds: readonly string[], stored: readonly StoredEventRef[], expected: ExpectedRevision): RepeatVerdict {
  if (stored.length === 0) return { kind: 'none' };
  const byId = new Map(stored.map((ref) => [ref.id.toLowerCase(), ref]));
  const refs = batchIds.map((id) => byId.get(id.toLowerCase()));
  const complete = refs.every((ref): ref is StoredEventRef => ref !== undefined);
  if (complete && refs.length > 0) {
    const first = refs[0]!.revision;
    const consecutive = refs.every((ref, i) => ref.revision === first + BigInt(i));
    const samePlace =
      expected === 'any' || expected === 'stream_exists' ? true : expected === 'no_stream' ? first === 0n : first === expected + 1n;
    if (consecutive && samePlace) {
      const last = refs[refs.length - 1]!;
      return { kind: 'idempotent', result: { nextRevision: last.revision, position: last.position } };
    }
  }
  return { kind: 'duplicate', ids: batchIds.filter((id) => byId.has(id.toLowerCase())) };
}

/** Does an event pass a global-log filter? (For adapters that filter on the client side.) */
export function matchesFilter(event: { readonly streamId: string; readonly type: string }, filter: AllFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.streamPrefix !== undefined && !event.streamId.startsWith(filter.streamPrefix)) return false;
  if (filter.eventTypes !== undefined && !filter.eventTypes.includes(event.type)) return false;
  return true;
}
