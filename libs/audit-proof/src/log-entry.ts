/**
 * What one leaf of Signoff's audit tree commits to: one stored event of the global log, as RFC 8785
 * canonical JSON. The leaf hash is SHA-256(0x00 || those bytes).
 */
import canonicalize from 'canonicalize';
import { hashLeaf, HASH_SIZE } from './rfc9162';

/**
 * A stored event as the log holds it. Everything a reader relies on is here: who wrote what
 * (`data`, `metadata` with actor and time), to which stream and at which revision, and when the
 * store recorded it. The event's place in the global log is the leaf's index, not a field.
 */
export interface LogEntry {
  readonly event_id: string;
  readonly stream_id: string;
  /** The event's revision in its stream, as a decimal string (a bigint in the store). */
  readonly revision: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  /** When the store recorded it, ISO 8601 with milliseconds. */
  readonly recorded_at: string;
}

/** An event of the store (`RecordedEvent`'s shape) as a {@link LogEntry}. */
export function logEntryOf(event: {
  readonly id: string;
  readonly streamId: string;
  readonly revision: bigint | number | string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata?: unknown;
  readonly createdAt: Date;
}): LogEntry {
  return {
    event_id: event.id,
    stream_id: event.streamId,
    revision: String(event.revision),
    type: event.type,
    data: event.data,
    metadata: event.metadata ?? {},
    recorded_at: event.createdAt.toISOString(),
  };
}

/** RFC 8785 canonical JSON of a value, as UTF-8 bytes. Throws on values JSON cannot carry. */
export function canonicalBytes(value: unknown): Uint8Array {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('the value has no canonical JSON form');
  return new TextEncoder().encode(text);
}

/** The leaf hash of a log entry: SHA-256(0x00 || canonical JSON of the entry). */
export function leafHashOf(entry: LogEntry): Uint8Array {
  const { event_id, stream_id, revision, type, data, metadata, recorded_at } = entry;
  return hashLeaf(canonicalBytes({ event_id, stream_id, revision, type, data, metadata, recorded_at }));
}

/** Lower-case hex of a hash. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A 32-byte hash from 64 hex digits; null for anything else. */
export function hashFromHex(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || !/^[0-9a-f]{64}$/i.test(text)) return null;
  const bytes = new Uint8Array(Buffer.from(text, 'hex'));
  return bytes.length === HASH_SIZE ? bytes : null;
}
