import { createHash } from 'node:crypto';

/**
 * Namespace of Signoff's deterministic ids (itself the v5 UUID of the URL
 * `https://signoff.dev/event-id` in the RFC 9562 URL namespace).
 */
export const SIGNOFF_UUID_NAMESPACE = '0a5bf68d-94a0-5e5b-861d-eb5c50b6d0db';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a UUID in its canonical 8-4-4-4-12 hex form (any version, any case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

/**
 * A name-based (version 5, SHA-1) UUID as in RFC 9562: the same name in the same namespace always
 * gives the same id. Use it for event ids derived from a command, e.g.
 * `deterministicUuid(`${commandId}/ApprovalGranted`)`, so a retried command appends the same
 * ids and the store recognises the repeat.
 */
export function deterministicUuid(name: string, namespace: string = SIGNOFF_UUID_NAMESPACE): string {
  if (!isUuid(namespace)) throw new TypeError(`namespace must be a UUID, got "${namespace}"`);
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
