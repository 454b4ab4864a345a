/**
 * What text Signoff accepts from outside, in one place.
 *
 * - Storable text: every string and every object key of a message must be storable by every event
 *   store adapter. PostgreSQL's `jsonb` refuses a NUL character (SQLSTATE 22P05) and a UTF-16 code
 *   unit that is half of no surrogate pair (22P02); such a value is the client's error (400), never
 *   an outage (503). Numbers must be finite: JSON text such as `1e400` parses to Infinity, which
 *   RFC 8785 (the job hash) cannot represent.
 * - Identities (a token's `sub`, a worker name, Kafka `submitted_by`) end up in event metadata,
 *   CloudEvents attributes, logs and reviewer screens. They may not hold control characters (C0,
 *   DEL, C1), line or paragraph separators, lone surrogates, or bidirectional formatting controls
 *   (embeddings, overrides, isolates, marks) that make a name display as another.
 */

/** NUL, or a lone (unpaired) surrogate code unit. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** C0, DEL, C1, U+2028/U+2029, bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9), lone surrogates. */
const UNSAFE_IN_IDENTITY =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_IN_IDENTITY_ALL = new RegExp(UNSAFE_IN_IDENTITY.source, 'g');

/** Whether every event store can hold this string (no NUL, no lone surrogate). */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * The identity-safety predicate: a non-empty string without control characters, line separators,
 * lone surrogates or bidi formatting controls. Used wherever an identity enters (JWT `sub`, the
 * results message `worker`, Kafka `submitted_by`).
 */
export function isSafeIdentity(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !UNSAFE_IN_IDENTITY.test(value);
}

const escapeUnit = (unit: string): string => '\\u' + unit.charCodeAt(0).toString(16).padStart(4, '0');

/**
 * The string with every character an identity may not hold written as a `\uXXXX` escape (six
 * printable characters), for places that must show an untrusted string safely (CloudEvents
 * attributes, field names in error answers). Safe strings come back unchanged.
 */
export function escapeUnsafeText(text: string): string {
  return UNSAFE_IN_IDENTITY.test(text) ? text.replace(UNSAFE_IN_IDENTITY_ALL, escapeUnit) : text;
}

/** One refused value: the field path (`payload.a.b`, `labels.env`, `items[2]`) and why. */
export interface UnsafeValue {
  readonly field: string;
  readonly message: string;
}

/** At most this many unsafe values are reported (a hostile body may hold millions). */
export const MAX_REPORTED_UNSAFE_VALUES = 20;

/** A cheap first look: only strings holding NUL or any surrogate need the exact check. */
const MAYBE_UNSTORABLE = /[\u0000\ud800-\udfff]/;
const storable = (text: string) => !MAYBE_UNSTORABLE.test(text) || isStorableText(text);

function showKey(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return storable(key) ? key : key.replace(UNSTORABLE_ALL, escapeUnit);
}

const STRING_PROBLEM = 'text must not contain NUL characters or unpaired surrogates';
const KEY_PROBLEM = 'names must not contain NUL characters or unpaired surrogates';
const NUMBER_PROBLEM = 'numbers must be finite (a magnitude below 1.8e308)';

/**
 * Every string, object key and number of a parsed JSON value that no store can hold as sent: NUL
 * characters, lone surrogates, non-finite numbers. Iterative (any depth is safe), in about the
 * time JSON.parse took to build the value: containers are queued with their parent and key only,
 * and a path is spelled out only for a finding. Stops after MAX_REPORTED_UNSAFE_VALUES findings.
 * `root` prefixes the reported paths.
 */
export function findUnsafeValues(value: unknown, root = ''): UnsafeValue[] {
  const found: UnsafeValue[] = [];
  const containers: object[] = [];
  const parents: number[] = [];
  const keys: (string | number)[] = [];
  const pathOf = (container: number, key: string | number | null): string => {
    const parts: (string | number)[] = key === null ? [] : [key];
    for (let at = container; at > 0; at = parents[at]) parts.push(keys[at]);
    let path = root;
    for (let i = parts.length - 1; i >= 0; i--) {
      const shown = showKey(parts[i]);
      path = typeof parts[i] === 'number' || path === '' ? path + shown : `${path}.${shown}`;
    }
    return path;
  };
  /** Checks a leaf at once; queues a container. `container`/`key` say where it sits. */
  const visit = (v: unknown, container: number, key: string | number | null): void => {
    if (typeof v === 'string') {
      if (!storable(v)) found.push({ field: pathOf(container, key), message: STRING_PROBLEM });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) found.push({ field: pathOf(container, key), message: NUMBER_PROBLEM });
    } else if (v !== null && typeof v === 'object') {
      containers.push(v);
      parents.push(container);
      keys.push(key ?? '');
    }
  };
  visit(value, 0, null);
  // Index 0 is the value itself (its path is `root`); children of container i have parent i.
  for (let i = 0; i < containers.length && found.length < MAX_REPORTED_UNSAFE_VALUES; i++) {
    const v = containers[i];
    if (Array.isArray(v)) {
      for (let j = 0; j < v.length; j++) visit(v[j], i, j);
    } else {
      for (const key of Object.keys(v)) {
        if (!storable(key)) found.push({ field: pathOf(i, key), message: KEY_PROBLEM });
        visit((v as Record<string, unknown>)[key], i, key);
      }
    }
  }
  return found.slice(0, MAX_REPORTED_UNSAFE_VALUES);
}
