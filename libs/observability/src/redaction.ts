/** What replaces a redacted value in audit events and logs. */
export const REDACTED = '[REDACTED]';

/**
 * Returns a copy of `value` with every dotted path replaced by `[REDACTED]` (paths that do not
 * exist are ignored; `*` matches any key or index at one level, e.g. `payload.cards.*.number`).
 * Never mutates its input.
 */
export function redactPaths<T>(value: T, paths: readonly string[]): T {
  if (paths.length === 0 || value === null || typeof value !== 'object') return value;
  let out: unknown = value;
  for (const path of paths) out = redactOne(out, path.split('.').filter(Boolean), 0);
  return out as T;
}

function redactOne(node: unknown, parts: string[], i: number): unknown {
  if (node === null || typeof node !== 'object') return node;
  const key = parts[i];
  const last = i === parts.length - 1;
  if (Array.isArray(node)) {
    const indexes = key === '*' ? node.map((_, n) => n) : /^\d+$/.test(key) && Number(key) < node.length ? [Number(key)] : [];
    if (indexes.length === 0) return node;
    const copy = [...node];
    for (const n of indexes) copy[n] = last ? REDACTED : redactOne(copy[n], parts, i + 1);
    return copy;
  }
  const record = node as Record<string, unknown>;
  const keys = key === '*' ? Object.keys(record) : Object.prototype.hasOwnProperty.call(record, key) ? [key] : [];
  if (keys.length === 0) return node;
  const copy: Record<string, unknown> = { ...record };
  for (const k of keys) copy[k] = last ? REDACTED : redactOne(copy[k], parts, i + 1);
  return copy;
}

/** Parses `AUDIT_REDACT_FIELDS` style lists: comma separated dotted paths. */
export function parseRedactionList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}
