import { normalizeIdentity, sameIdentity, type DelegatedAuthority, type DelegationLink } from '@signoff/contracts';
import { refuse } from './job.decision-kit';
import type { DecideRefused } from './job.outcomes';
import { activeDelegation, type Delegation, type DelegationState } from './delegation.decider';

/** The most delegations a vote may follow from the voter to who casts it (alice -> bob -> carol -> dave). */
export const MAX_DELEGATION_CHAIN = 3;

/**
 * A chain of delegations active now, from the voter (whose vote it is) to who casts it. The vote
 * counts as `voter`'s; what it may do is what EVERY link's recorded authority allows: the roles
 * all of them had (`roles`), and a job only if each link's tenants and topics cover it.
 */
export interface ResolvedDelegationChain {
  readonly voter: string;
  readonly cast_by: string;
  readonly links: readonly DelegationLink[];
  /** The roles every link carried (intersection), what the rule's `reviewers` are checked against. */
  readonly roles: readonly string[];
  /** Each link's recorded authority, in chain order: a job must be covered by all of them. */
  readonly authorities: readonly DelegatedAuthority[];
}

/** The next delegator whose stream the resolver needs (the shell reads it and asks again). */
export interface NeedDelegations {
  readonly need: string;
}

export type ChainResolution = { readonly ok: true; readonly chain: ResolvedDelegationChain } | NeedDelegations | DecideRefused;

/**
 * Follows the delegations active at `nowMs` from `voter` (the `on_behalf_of` of the vote) towards
 * `caster` (the caller): voter -> delegate of voter -> delegate of that one ... until `caster` is
 * reached. At most one delegation of a delegator is active at a time (the grant rule), so this is
 * a walk, not a search. Pure: `states` holds the delegator streams read so far (by normalised
 * identity); when the next one is missing it answers `{need}` and the shell reads that stream.
 * Refusals (403): `delegation_not_found` (no active delegation on the way, or a cycle, found with
 * a visited set), `delegation_chain_too_long` (more than `maxDepth` links before the caller).
 */
export function resolveDelegationChain(
  request: { readonly voter: string; readonly caster: string; readonly nowMs: number; readonly maxDepth?: number },
  states: ReadonlyMap<string, DelegationState>,
): ChainResolution {
  const maxDepth = request.maxDepth ?? MAX_DELEGATION_CHAIN;
  const notFound = (detail: string): DecideRefused =>
    refuse('delegation_not_found', `no active delegation lets you act for ${request.voter}${detail}`, { on_behalf_of: request.voter });
  const visited = new Set<string>([normalizeIdentity(request.voter)]);
  const followed: Delegation[] = [];
  let current = request.voter;
  for (;;) {
    const state = states.get(normalizeIdentity(current));
    if (state === undefined) return { need: current };
    const delegation = activeDelegation(state, request.nowMs);
    if (delegation === null) return notFound(followed.length === 0 ? '' : ` (the chain stops at ${current})`);
    followed.push(delegation);
    const next = delegation.delegate;
    if (sameIdentity(next, request.caster)) break;
    if (followed.length >= maxDepth) {
      return refuse('delegation_chain_too_long', `the delegations from ${request.voter} reach you in more than ${maxDepth} steps`, {
        on_behalf_of: request.voter,
        max_depth: maxDepth,
      });
    }
    const key = normalizeIdentity(next);
    if (visited.has(key)) return notFound(' (the delegations form a cycle)');
    visited.add(key);
    current = next;
  }
  const roles = followed.slice(1).reduce<readonly string[]>((acc, d) => acc.filter((r) => d.roles.includes(r)), followed[0]!.roles);
  return {
    ok: true,
    chain: {
      // As the delegator spelled it in their token (the request may spell it otherwise).
      voter: followed[0]!.delegator,
      cast_by: request.caster,
      links: followed.map(({ delegation_id, delegator, delegate }) => ({ delegation_id, delegator, delegate })),
      roles,
      authorities: followed.map(({ roles: r, tenants, topics }) => ({ roles: r, tenants, topics })),
    },
  };
}

/** Every identity a vote involves: who it counts as, who cast it, and everyone on the chain between. */
export function voteIdentities(reviewer: string, onBehalf?: { readonly cast_by?: string; readonly on_behalf_of?: readonly DelegationLink[] }): string[] {
  const out = [reviewer];
  if (onBehalf?.cast_by !== undefined) out.push(onBehalf.cast_by);
  for (const link of onBehalf?.on_behalf_of ?? []) out.push(link.delegator, link.delegate);
  return out;
}
