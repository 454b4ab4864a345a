import { hash } from 'node:crypto';
import type { JobEvent } from '@signoff/contracts';

/**
 * Namespace of Signoff's name-based ids: the v5 UUID of `https://signoff.dev/event-id` in the URL
 * namespace, the same value as `SIGNOFF_UUID_NAMESPACE` of @signoff/event-store (repeated here so
 * the pure domain does not import the store). Fixed forever: changing it changes every id.
 */
export const EVENT_ID_NAMESPACE = '0a5bf68d-94a0-5e5b-861d-eb5c50b6d0db';
const NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replace(/-/g, ''), 'hex');

/**
 * The id of the `index`-th event decided for command `commandId`: the RFC 9562 version-5 UUID of
 * the name `<commandId>/<index>`, i.e. exactly `deterministicUuid(`${commandId}/${index}`)` of
 * @signoff/event-store, so both helpers give one id scheme (and KurrentDB gets the UUIDs it wants).
 *
 * Deterministic on purpose: the shell derives ids from the command, never from a random source,
 * so appending the same decision again after an ambiguous failure (a timeout after the store
 * committed) carries the same ids, and the store, which treats a repeated id at the same place as
 * already written, appends nothing twice. A reload-and-decide-again after a version conflict may
 * yield other events (or none): events of the lost decision were never stored, so reusing their
 * ids is harmless.
 */
export function eventIdFor(commandId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`event index must be a non-negative integer, got ${index}`);
  // SHA-1 of namespace bytes + name in one call: a Hash object per id was most of an id's cost.
  const name = `${commandId}/${index}`;
  const input = Buffer.allocUnsafe(NAMESPACE_BYTES.length + Buffer.byteLength(name, 'utf8'));
  NAMESPACE_BYTES.copy(input, 0);
  input.write(name, NAMESPACE_BYTES.length, 'utf8');
  const bytes = hash('sha1', input, 'buffer').subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A decided event with the id it is appended under (the event store's `NewEvent` shape). */
export type IdentifiedJobEvent = JobEvent & { readonly id: string };

/** Gives each decided event its deterministic id (`eventIdFor(commandId, i)`), ready to append. */
export function identifyEvents(commandId: string, events: readonly JobEvent[]): IdentifiedJobEvent[] {
  return events.map((event, i) => ({ ...event, id: eventIdFor(commandId, i) }));
}
