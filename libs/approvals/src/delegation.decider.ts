import {
  normalizeIdentity,
  sameIdentity,
  type DelegationEvent,
  type DelegationEventMap,
  type DelegationEventType,
  type DelegationGrantedData,
  type EventMetadata,
} from '@signoff/contracts';
import type { CommandMetadata } from './job.commands';
import { instantMs, invalid, refuse } from './job.decision-kit';
import type { DecideRefused } from './job.outcomes';

/*
 * Delegations (issue 12 section 4) as a pure decider over one delegator's stream
 * (`toDelegationStreamId(delegator)`): grant and revoke. The rules:
 * - a delegation carries the delegator's authority as their token had it at grant time (roles,
 *   tenants, topics; roles and tenants may be narrowed, never widened) and nothing more;
 * - at most ONE delegation of a delegator covers any instant: overlapping periods are refused,
 *   even to the same delegate (revoke and grant again to change one). So "who acts for alice now"
 *   has one answer, and a chain alice -> bob -> carol is a path, not a search;
 * - periods are bounded (MAX_DELEGATION_PERIOD_MS), so are open delegations per delegator
 *   (MAX_OPEN_DELEGATIONS) and how far ahead one may start (MAX_DELEGATION_LEAD_MS);
 * - nobody delegates to themselves (normalised identities: `Alice` -> `alice` is refused).
 */

/** The longest period a delegation may cover: 90 days. */
export const MAX_DELEGATION_PERIOD_MS = 90 * 24 * 3600_000;
/** How far ahead a delegation may start: 365 days. */
export const MAX_DELEGATION_LEAD_MS = 365 * 24 * 3600_000;
/** Delegations of one delegator that have not ended and are not revoked, at most. */
export const MAX_OPEN_DELEGATIONS = 10;

/** A granted delegation with what happened to it since. */
export interface Delegation extends DelegationGrantedData {
  readonly granted_at: string;
  readonly revoked: { readonly at: string; readonly by: string; readonly reason: string | null } | null;
}

/** One delegator's delegations, in the order they were granted. */
export interface DelegationState {
  readonly delegations: readonly Delegation[];
}

/** Where a delegation stands at an instant. */
export type DelegationStatus = 'scheduled' | 'active' | 'ended' | 'revoked';

export function initialDelegationState(): DelegationState {
  return { delegations: [] };
}

export function evolveDelegation(state: DelegationState, event: DelegationEvent): DelegationState {
  switch (event.type) {
    case 'DelegationGranted': {
      if (state.delegations.some((d) => d.delegation_id === event.data.delegation_id)) return state;
      const granted: Delegation = { ...event.data, granted_at: event.metadata.at, revoked: null };
      return { delegations: [...state.delegations, granted] };
    }
    case 'DelegationRevoked': {
      const { delegation_id, revoked_by, reason } = event.data;
      return {
        delegations: state.delegations.map((d) =>
          d.delegation_id === delegation_id && d.revoked === null ? { ...d, revoked: { at: event.metadata.at, by: revoked_by, reason } } : d,
        ),
      };
    }
    default: {
      const unknown: never = event;
      void unknown;
      return state;
    }
  }
}

/** The state of a delegator's stream (events of other types are ignored). */
export function foldDelegations(events: readonly { readonly type: string }[], from: DelegationState = initialDelegationState()): DelegationState {
  let state = from;
  for (const event of events) {
    if (event.type === 'DelegationGranted' || event.type === 'DelegationRevoked') state = evolveDelegation(state, event as DelegationEvent);
  }
  return state;
}

/** Where `delegation` stands at `nowMs`: active while `starts_at <= now < ends_at` and not revoked. */
export function delegationStatus(delegation: Delegation, nowMs: number): DelegationStatus {
  if (delegation.revoked !== null) return 'revoked';
  const starts = instantMs(delegation.starts_at);
  const ends = instantMs(delegation.ends_at);
  // An unreadable period fails closed: it has ended.
  if (starts === null || ends === null || nowMs >= ends) return 'ended';
  return nowMs < starts ? 'scheduled' : 'active';
}

/** The delegator's delegation active at `nowMs`, or null (at most one by the no-overlap rule). */
export function activeDelegation(state: DelegationState, nowMs: number): Delegation | null {
  return state.delegations.find((d) => delegationStatus(d, nowMs) === 'active') ?? null;
}

// ---------------------------------------------------------------------------------------------
// commands

/** What a grant records (the delegator's authority comes from their verified token, via the shell). */
export type GrantDelegationData = DelegationGrantedData;
/** Grant a delegation: `delegator` (the caller, with the authority of their token) to `delegate`. */
export interface GrantDelegation {
  readonly type: 'GrantDelegation';
  readonly data: GrantDelegationData;
  readonly metadata: CommandMetadata;
}

export interface RevokeDelegationData {
  readonly delegation_id: string;
  /** The caller. */
  readonly revoked_by: string;
  /** Whether the caller is an admin whose tenants cover the delegation (the shell judges it). */
  readonly as_admin: boolean;
  readonly reason: string | null;
}
/** Revoke a delegation: its delegator, or an admin. */
export interface RevokeDelegation {
  readonly type: 'RevokeDelegation';
  readonly data: RevokeDelegationData;
  readonly metadata: CommandMetadata;
}

export type DelegationCommand = GrantDelegation | RevokeDelegation;

export type GrantDelegationOutcome = { readonly status: 'granted'; readonly delegation: Delegation };
export type RevokeDelegationOutcome = { readonly status: 'revoked' | 'already_revoked'; readonly delegation: Delegation };

export interface DelegationOutcomeMap {
  GrantDelegation: GrantDelegationOutcome;
  RevokeDelegation: RevokeDelegationOutcome;
}

export type DelegationDecideResult<O> = { readonly ok: true; readonly events: DelegationEvent[]; readonly outcome: O } | DecideRefused;

function eventOf<T extends DelegationEventType>(type: T, data: DelegationEventMap[T], meta: CommandMetadata): DelegationEvent<T> {
  const metadata: EventMetadata = { correlationId: meta.correlationId, causationId: meta.causationId ?? meta.commandId, actor: meta.actor, at: meta.now };
  return { type, data, metadata } as unknown as DelegationEvent<T>;
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const sameList = (a: readonly string[] | null, b: readonly string[] | null): boolean =>
  a === null || b === null ? a === b : a.length === b.length && a.every((x, i) => x === b[i]);

function refuseGrant(reason: string, message: string, details: Record<string, unknown> = {}): DecideRefused {
  return refuse('invalid_delegation', message, { reason, ...details });
}

/**
 * Grant, in this order: fields (`invalid_request`), then `invalid_delegation` with a `reason`:
 * `self_delegation` (same normalised identity), `empty_period` (ends_at <= starts_at),
 * `already_ended` (ends_at <= now), `period_too_long` (> 90 days), `starts_too_late` (> 365 days
 * ahead), `no_roles`; a repeated delegation_id with the same content is answered again (no event),
 * with other content refused; then `delegation_overlaps` (another delegation of this delegator, not
 * revoked and not ended, covers part of the period), then `too_many_delegations`.
 */
export function grantDelegation(command: GrantDelegation, state: DelegationState, nowMs: number): DelegationDecideResult<GrantDelegationOutcome> {
  const d = command.data;
  for (const key of ['delegation_id', 'delegator', 'delegate', 'reason'] as const) {
    if (!isText(d[key])) return invalid(`${key} is required`, key);
  }
  if (!isList(d.roles)) return invalid('roles must be a list of strings', 'roles');
  if (d.tenants !== null && !isList(d.tenants)) return invalid('tenants must be a list of tenants or null', 'tenants');
  if (d.topics !== null && !isList(d.topics)) return invalid('topics must be a list of globs or null', 'topics');
  const starts = instantMs(d.starts_at);
  const ends = instantMs(d.ends_at);
  if (starts === null) return invalid('starts_at must be an ISO-8601 instant with an offset', 'starts_at');
  if (ends === null) return invalid('ends_at must be an ISO-8601 instant with an offset', 'ends_at');

  if (sameIdentity(d.delegator, d.delegate)) return refuseGrant('self_delegation', 'you cannot delegate to yourself');
  if (ends <= starts) return refuseGrant('empty_period', 'ends_at must be after starts_at');
  if (ends <= nowMs) return refuseGrant('already_ended', 'ends_at is in the past');
  if (ends - starts > MAX_DELEGATION_PERIOD_MS) {
    return refuseGrant('period_too_long', 'a delegation may cover at most 90 days', { max_days: MAX_DELEGATION_PERIOD_MS / 86_400_000 });
  }
  if (starts - nowMs > MAX_DELEGATION_LEAD_MS) return refuseGrant('starts_too_late', 'a delegation may start at most 365 days ahead');
  if (d.roles.length === 0) return refuseGrant('no_roles', 'a delegation must carry at least one role');

  const same = state.delegations.find((x) => x.delegation_id === d.delegation_id);
  if (same) {
    const identical =
      same.delegate === d.delegate && same.starts_at === d.starts_at && same.ends_at === d.ends_at && same.reason === d.reason &&
      sameList(same.roles, d.roles) && sameList(same.tenants, d.tenants) && sameList(same.topics, d.topics);
    return identical ? { ok: true, events: [], outcome: { status: 'granted', delegation: same } } : invalid(`delegation ${d.delegation_id} exists with other content`, 'delegation_id');
  }
  const open = state.delegations.filter((x) => {
    const status = delegationStatus(x, nowMs);
    return status === 'active' || status === 'scheduled';
  });
  const overlapping = open.find((x) => (instantMs(x.starts_at) ?? 0) < ends && starts < (instantMs(x.ends_at) ?? 0));
  if (overlapping) {
    return refuse('delegation_overlaps', 'you already delegate for part of that period (one delegate at a time: revoke it first)', {
      delegation_id: overlapping.delegation_id,
      starts_at: overlapping.starts_at,
      ends_at: overlapping.ends_at,
    });
  }
  if (open.length >= MAX_OPEN_DELEGATIONS) {
    return refuse('too_many_delegations', `at most ${MAX_OPEN_DELEGATIONS} delegations may be current or scheduled`, { max: MAX_OPEN_DELEGATIONS });
  }
  const event = eventOf('DelegationGranted', { ...d }, command.metadata);
  return { ok: true, events: [event], outcome: { status: 'granted', delegation: evolveDelegation(state, event).delegations.at(-1)! } };
}

/**
 * Revoke: `not_found` unless the delegation exists and the caller is its delegator, its delegate
 * or an admin covering it (nobody else learns it exists); `forbidden` for the delegate (only the
 * delegator or an admin revokes); a revoked one is answered `already_revoked` (no event).
 * Ended and scheduled delegations can be revoked (the record says so).
 */
export function revokeDelegation(command: RevokeDelegation, state: DelegationState): DelegationDecideResult<RevokeDelegationOutcome> {
  const { delegation_id, revoked_by, as_admin, reason } = command.data;
  if (!isText(revoked_by)) return invalid('revoked_by is required', 'revoked_by');
  const delegation = state.delegations.find((x) => x.delegation_id === delegation_id);
  const isDelegator = delegation !== undefined && sameIdentity(delegation.delegator, revoked_by);
  const isDelegate = delegation !== undefined && sameIdentity(delegation.delegate, revoked_by);
  if (delegation === undefined || (!isDelegator && !isDelegate && as_admin !== true)) {
    return refuse('not_found', `delegation ${String(delegation_id)} not found`);
  }
  if (!isDelegator && as_admin !== true) return refuse('forbidden', 'only the delegator or an admin may revoke a delegation');
  if (delegation.revoked !== null) return { ok: true, events: [], outcome: { status: 'already_revoked', delegation } };
  const event = eventOf('DelegationRevoked', { delegation_id, delegator: delegation.delegator, revoked_by, reason: reason ?? null }, command.metadata);
  const after = evolveDelegation(state, event).delegations.find((x) => x.delegation_id === delegation_id)!;
  return { ok: true, events: [event], outcome: { status: 'revoked', delegation: after } };
}

/** Decides a delegation command on the delegator's folded stream; never throws. */
export function decideDelegation<C extends DelegationCommand>(command: C, state: DelegationState): DelegationDecideResult<DelegationOutcomeMap[C['type']]> {
  const meta = command.metadata as Partial<CommandMetadata> | undefined;
  const nowMs = instantMs(meta?.now);
  if (!meta || !isText(meta.commandId) || !isText(meta.correlationId) || !isText(meta.actor) || nowMs === null) {
    return invalid('command metadata (commandId, correlationId, actor, now) is required', 'metadata');
  }
  if (typeof command.data !== 'object' || command.data === null) return invalid('data is required', 'data');
  switch (command.type) {
    case 'GrantDelegation':
      if (!isText(command.data.delegator) || state.delegations.some((x) => normalizeIdentity(x.delegator) !== normalizeIdentity(command.data.delegator))) {
        return invalid('the command is for another delegator than this stream', 'delegator');
      }
      return grantDelegation(command, state, nowMs) as DelegationDecideResult<DelegationOutcomeMap[C['type']]>;
    case 'RevokeDelegation':
      return revokeDelegation(command, state) as DelegationDecideResult<DelegationOutcomeMap[C['type']]>;
    default: {
      const unknown: never = command;
      return invalid(`unknown command ${String((unknown as { type?: unknown }).type)}`, 'type');
    }
  }
}
