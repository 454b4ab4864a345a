import { normalizeIdentity, type DelegationEvent } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { MAX_DELEGATION_CHAIN, resolveDelegationChain, type ChainResolution } from './delegation.chain';
import { foldDelegations, type DelegationState } from './delegation.decider';

const T0 = '2026-12-01T09:00:00.000Z';
const NOW = Date.parse(T0) + 3600_000;
const END = '2026-12-08T09:00:00.000Z';

function link(delegator: string, delegate: string, over: { roles?: string[]; tenants?: string[] | null; topics?: string[] | null; ends_at?: string; revoked?: boolean } = {}): DelegationEvent[] {
  const id = `d-${delegator}-${delegate}`;
  const events: DelegationEvent[] = [
    {
      type: 'DelegationGranted',
      data: { delegation_id: id, delegator, delegate, starts_at: T0, ends_at: over.ends_at ?? END, reason: 'away', roles: over.roles ?? ['reviewer', 'finance-approver'], tenants: over.tenants ?? null, topics: over.topics ?? null },
      metadata: { correlationId: 'x', causationId: 'x', actor: delegator, at: T0 },
    },
  ];
  if (over.revoked) events.push({ type: 'DelegationRevoked', data: { delegation_id: id, delegator, revoked_by: delegator, reason: null }, metadata: { correlationId: 'y', causationId: 'y', actor: delegator, at: T0 } });
  return events;
}

/** Resolves like the shell does: read the stream the resolver needs (empty when nobody delegated), ask again. */
function resolve(voter: string, caster: string, streams: Record<string, DelegationEvent[]>, maxDepth?: number): { result: ChainResolution; reads: number } {
  const states = new Map<string, DelegationState>();
  for (let reads = 0; ; reads++) {
    const result = resolveDelegationChain({ voter, caster, nowMs: NOW, ...(maxDepth ? { maxDepth } : {}) }, states);
    if (!('need' in result)) return { result, reads };
    expect(reads).toBeLessThanOrEqual(MAX_DELEGATION_CHAIN);
    states.set(normalizeIdentity(result.need), foldDelegations(streams[normalizeIdentity(result.need)] ?? []));
  }
}

describe('resolveDelegationChain', () => {
  it('one link: bob votes for alice; the chain names the delegation', () => {
    const { result } = resolve('alice', 'bob', { alice: link('alice', 'bob') });
    expect(result).toEqual({
      ok: true,
      chain: {
        voter: 'alice',
        cast_by: 'bob',
        links: [{ delegation_id: 'd-alice-bob', delegator: 'alice', delegate: 'bob' }],
        roles: ['reviewer', 'finance-approver'],
        authorities: [{ roles: ['reviewer', 'finance-approver'], tenants: null, topics: null }],
      },
    });
  });

  it('identities are compared normalised (Bob casts for ALICE)', () => {
    expect(resolve('ALICE', 'Bob', { alice: link('alice', 'bob') }).result).toMatchObject({ ok: true });
  });

  it('a chain alice -> bob -> carol: carol votes for alice with the roles both links carried', () => {
    const { result } = resolve('alice', 'carol', { alice: link('alice', 'bob'), bob: link('bob', 'carol', { roles: ['reviewer'], tenants: ['acme'] }) });
    expect(result).toMatchObject({ ok: true, chain: { roles: ['reviewer'], links: [{ delegator: 'alice' }, { delegator: 'bob', delegate: 'carol' }] } });
    if ('ok' in result && result.ok) expect(result.chain.authorities.map((a) => a.tenants)).toEqual([null, ['acme']]);
  });

  it('depth is bounded: 3 links resolve, 4 are delegation_chain_too_long', () => {
    const streams = { a: link('a', 'b'), b: link('b', 'c'), c: link('c', 'd'), d: link('d', 'e') };
    expect(resolve('a', 'd', streams).result).toMatchObject({ ok: true });
    expect(resolve('a', 'e', streams).result).toMatchObject({ ok: false, code: 'delegation_chain_too_long' });
  });

  it('a cycle a -> b -> a is delegation_not_found after reading each stream once', () => {
    const { result, reads } = resolve('a', 'x', { a: link('a', 'b'), b: link('b', 'a') }, 10);
    expect(result).toMatchObject({ ok: false, code: 'delegation_not_found' });
    expect(reads).toBe(2);
  });

  it('no delegation, an expired one, a revoked one, or a chain that leads elsewhere: delegation_not_found', () => {
    expect(resolve('alice', 'bob', {}).result).toMatchObject({ ok: false, code: 'delegation_not_found' });
    expect(resolve('alice', 'bob', { alice: link('alice', 'bob', { ends_at: T0.replace('09:00', '09:30') }) }).result).toMatchObject({ code: 'delegation_not_found' });
    expect(resolve('alice', 'bob', { alice: link('alice', 'bob', { revoked: true }) }).result).toMatchObject({ code: 'delegation_not_found' });
    expect(resolve('alice', 'mallory', { alice: link('alice', 'bob') }).result).toMatchObject({ code: 'delegation_not_found' });
  });
});
