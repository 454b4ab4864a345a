import { createHash } from 'node:crypto';
import type { EventMetadata } from './events';
import { normalizeIdentity } from './ids';

/*
 * Delegations (issue 12 section 4): a reviewer lets another act for them for a period (out of
 * office). Facts in the event store, one stream per delegator, so every instance and every restart
 * sees the same delegations. They are not job events (no `job_id`): they live in their own streams
 * and their own event map, and nothing that reads job streams sees them.
 */

/** Prefix of every delegation stream (`delegation-<sha256 of the delegator's normalised identity>`). */
export const DELEGATION_STREAM_PREFIX = 'delegation-';

/**
 * The one place delegation stream ids are made: one stream per delegator, named by the SHA-256 of
 * `normalizeIdentity(delegator)`, so `Alice` and `alice` share a stream, and a subject of any
 * length or alphabet gives a bounded, printable id.
 */
export function toDelegationStreamId(delegator: string): string {
  return DELEGATION_STREAM_PREFIX + createHash('sha256').update(normalizeIdentity(delegator), 'utf8').digest('hex');
}

/**
 * A delegator's authority as it was when the delegation was granted: the roles of their verified
 * token (or the subset they chose), its tenants and its topic globs (null = the token had no such
 * claim, i.e. all). A delegate acting under it never gets more than this.
 */
export interface DelegatedAuthority {
  readonly roles: readonly string[];
  readonly tenants: readonly string[] | null;
  readonly topics: readonly string[] | null;
}

export interface DelegationGrantedData extends DelegatedAuthority {
  readonly delegation_id: string;
  /** The reviewer whose authority is delegated (their `sub`, as spelled in their token). */
  readonly delegator: string;
  /** Who may act for the delegator. */
  readonly delegate: string;
  /** ISO-8601 instants: active while `starts_at <= now < ends_at`. */
  readonly starts_at: string;
  readonly ends_at: string;
  readonly reason: string;
}

export interface DelegationRevokedData {
  readonly delegation_id: string;
  readonly delegator: string;
  /** The delegator themselves or an admin. */
  readonly revoked_by: string;
  readonly reason: string | null;
}

/** Delegation events by type. */
export interface DelegationEventMap {
  DelegationGranted: DelegationGrantedData;
  DelegationRevoked: DelegationRevokedData;
}

export type DelegationEventType = keyof DelegationEventMap;

export type DelegationEvent<T extends DelegationEventType = DelegationEventType> = {
  [K in T]: { readonly type: K; readonly data: DelegationEventMap[K]; readonly metadata: EventMetadata };
}[T];

export const DELEGATION_EVENT_TYPES = ['DelegationGranted', 'DelegationRevoked'] as const satisfies readonly DelegationEventType[];

/**
 * One delegation followed by a vote cast on someone's behalf: `delegator` let `delegate` act for
 * them. A vote's `on_behalf_of` lists them from the voter (the first link's delegator) to the
 * identity that cast it (the last link's delegate, `cast_by`).
 */
export interface DelegationLink {
  readonly delegation_id: string;
  readonly delegator: string;
  readonly delegate: string;
}

/**
 * What a vote (ApprovalVoteRecorded, ApprovalGranted, ApprovalRejected) records when it was cast
 * under a delegation: `reviewer` (or `rejected_by`) is the delegator it counts as, `cast_by` who
 * cast it, `on_behalf_of` the chain. Both absent on a vote cast in one's own name.
 */
export interface CastOnBehalf {
  readonly cast_by?: string;
  readonly on_behalf_of?: readonly DelegationLink[];
}
