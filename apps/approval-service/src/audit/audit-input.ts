import { SignoffError } from '@signoff/contracts';
import { isUuid } from '@signoff/event-store';
import { canSeeTenant, type Principal } from '@signoff/runtime';

/**
 * The one value of a query parameter: a string, or absent. Anything else (a repeated parameter,
 * an object from `a[b]=`) is refused by the caller's parser with its own code.
 */
export function queryValue(query: Readonly<Record<string, unknown>>, name: string): string | undefined | null {
  const value = query[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : null;
}

/** `event_id`: a UUID, else 400 `invalid_event_id`. */
export function parseEventId(raw: string | undefined | null): string {
  if (typeof raw !== 'string' || !isUuid(raw.toLowerCase())) throw new SignoffError('invalid_event_id', 'event_id must be the UUID of an event');
  return raw.toLowerCase();
}

/**
 * A tree size (`from`, `to`, `tree_size`): decimal digits, at most 15 of them, from `min` to `max`;
 * absent gives `fallback`. Anything else is 400 `invalid_tree_size` naming the parameter.
 */
export function parseTreeSize(name: string, raw: string | undefined | null, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (raw === null || !/^\d{1,15}$/.test(raw)) throw new SignoffError('invalid_tree_size', `${name} must be a decimal integer`, { parameter: name });
  const value = Number(raw);
  if (value < min || value > max) throw new SignoffError('invalid_tree_size', `${name} must be from ${min} to ${max}`, { parameter: name, min, max });
  return value;
}

/**
 * Whether a caller may have proofs of a leaf: an event of a tenant it may see, or a control-plane
 * event (no tenant: policy activations, delegations, webhook bookkeeping) for a caller of every tenant.
 */
export function mayProve(principal: Principal, tenant: string | null): boolean {
  return tenant === null ? principal.tenants === null : canSeeTenant(principal, tenant);
}
