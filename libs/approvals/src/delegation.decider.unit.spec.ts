import type { DelegationEvent, DelegationGrantedData } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import {
  activeDelegation,
  decideDelegation,
  delegationStatus,
  foldDelegations,
  MAX_OPEN_DELEGATIONS,
  type DelegationCommand,
  type DelegationState,
  type GrantDelegation,
  type RevokeDelegation,
} from './delegation.decider';
import type { CommandMetadata } from './job.commands';

const DAY = 86_400_000;
const T0 = '2026-12-01T09:00:00.000Z';
const t = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();
const meta = (now = T0, actor = 'alice'): CommandMetadata => ({ commandId: 'c-1', correlationId: 'c-1', actor, now });

const granted = (over: Partial<DelegationGrantedData> = {}, at = T0): DelegationEvent => ({
  type: 'DelegationGranted',
  data: {
    delegation_id: 'd-1',
    delegator: 'alice',
    delegate: 'bob',
    starts_at: T0,
    ends_at: t(7 * DAY),
    reason: 'out of office',
    roles: ['reviewer', 'finance-approver'],
    tenants: ['acme'],
    topics: null,
    ...over,
  },
  metadata: { correlationId: 'x', causationId: 'x', actor: over.delegator ?? 'alice', at },
});
const revoked = (id = 'd-1', by = 'alice'): DelegationEvent => ({
  type: 'DelegationRevoked',
  data: { delegation_id: id, delegator: 'alice', revoked_by: by, reason: 'back' },
  metadata: { correlationId: 'y', causationId: 'y', actor: by, at: t(DAY) },
});

const grant = (over: Partial<DelegationGrantedData> = {}, now = T0): GrantDelegation => ({
  type: 'GrantDelegation',
  data: { ...(granted(over).data as DelegationGrantedData) },
  metadata: meta(now),
});
const revoke = (over: Partial<RevokeDelegation['data']> = {}, now = t(DAY)): RevokeDelegation => ({
  type: 'RevokeDelegation',
  data: { delegation_id: 'd-1', revoked_by: 'alice', as_admin: false, reason: null, ...over },
  metadata: meta(now, over.revoked_by ?? 'alice'),
});

function given(...events: DelegationEvent[]) {
  const state: DelegationState = foldDelegations(events);
  return {
    when(command: DelegationCommand) {
      const result = decideDelegation(command, state);
      expect(decideDelegation(command, state)).toEqual(result);
      return {
        result,
        thenRefused(code: string, reason?: string) {
          expect(result).toMatchObject({ ok: false, code });
          if (reason !== undefined && !result.ok) expect(result.details).toMatchObject({ reason });
        },
        thenEvents(types: string[]) {
          expect(result.ok).toBe(true);
          expect(result.ok ? result.events.map((e) => e.type) : []).toEqual(types);
          return result.ok ? foldDelegations(result.events, state) : state;
        },
      };
    },
  };
}

describe('GrantDelegation', () => {
  it('records DelegationGranted with the delegator\'s authority and answers the delegation', () => {
    const then = given().when(grant());
    const after = then.thenEvents(['DelegationGranted']);
    expect(then.result).toMatchObject({ ok: true, outcome: { status: 'granted', delegation: { delegation_id: 'd-1', delegate: 'bob', roles: ['reviewer', 'finance-approver'], revoked: null } } });
    expect(activeDelegation(after, Date.parse(t(DAY)))?.delegate).toBe('bob');
  });

  it('refuses self-delegation, also in another spelling of the same identity', () => {
    given().when(grant({ delegate: 'alice' })).thenRefused('invalid_delegation', 'self_delegation');
    given().when(grant({ delegate: 'ALICE' })).thenRefused('invalid_delegation', 'self_delegation');
    given().when(grant({ delegate: 'ａｌｉｃｅ' })).thenRefused('invalid_delegation', 'self_delegation');
  });

  it('refuses ends_at <= starts_at, an ended period, more than 90 days, a start more than a year ahead, no roles', () => {
    given().when(grant({ ends_at: T0 })).thenRefused('invalid_delegation', 'empty_period');
    given().when(grant({ starts_at: t(2 * DAY), ends_at: t(DAY) })).thenRefused('invalid_delegation', 'empty_period');
    given().when(grant({ starts_at: t(-3 * DAY), ends_at: t(-DAY) })).thenRefused('invalid_delegation', 'already_ended');
    given().when(grant({ ends_at: t(91 * DAY) })).thenRefused('invalid_delegation', 'period_too_long');
    given().when(grant({ ends_at: t(90 * DAY) })).thenEvents(['DelegationGranted']);
    given().when(grant({ starts_at: t(400 * DAY), ends_at: t(401 * DAY) })).thenRefused('invalid_delegation', 'starts_too_late');
    given().when(grant({ roles: [] })).thenRefused('invalid_delegation', 'no_roles');
  });

  it('refuses malformed fields and instants as invalid_request', () => {
    given().when(grant({ ends_at: 'next tuesday' })).thenRefused('invalid_request');
    given().when(grant({ starts_at: '2026-12-01' })).thenRefused('invalid_request');
    given().when(grant({ delegate: ' ' })).thenRefused('invalid_request');
    given().when(grant({ roles: 'reviewer' as unknown as string[] })).thenRefused('invalid_request');
  });

  it('refuses a period overlapping an open delegation of the same delegator, to another delegate or the same one', () => {
    given(granted()).when(grant({ delegation_id: 'd-2', delegate: 'carol', starts_at: t(6 * DAY), ends_at: t(9 * DAY) })).thenRefused('delegation_overlaps');
    given(granted()).when(grant({ delegation_id: 'd-2', starts_at: t(DAY), ends_at: t(2 * DAY) })).thenRefused('delegation_overlaps');
    // Back to back is fine; so is an overlap with a revoked or ended delegation.
    given(granted()).when(grant({ delegation_id: 'd-2', delegate: 'carol', starts_at: t(7 * DAY), ends_at: t(9 * DAY) })).thenEvents(['DelegationGranted']);
    given(granted(), revoked()).when(grant({ delegation_id: 'd-2', delegate: 'carol', starts_at: t(DAY), ends_at: t(3 * DAY) }, t(DAY))).thenEvents(['DelegationGranted']);
    given(granted()).when(grant({ delegation_id: 'd-2', delegate: 'carol', starts_at: t(8 * DAY), ends_at: t(9 * DAY) }, t(8 * DAY))).thenEvents(['DelegationGranted']);
  });

  it(`refuses more than ${MAX_OPEN_DELEGATIONS} current or scheduled delegations`, () => {
    const events = Array.from({ length: MAX_OPEN_DELEGATIONS }, (_, i) => granted({ delegation_id: `d-${i}`, starts_at: t(i * 2 * DAY), ends_at: t((i * 2 + 1) * DAY) }));
    given(...events).when(grant({ delegation_id: 'd-x', starts_at: t(30 * DAY), ends_at: t(31 * DAY) })).thenRefused('too_many_delegations');
    // Once the first one ended, there is room again.
    given(...events).when(grant({ delegation_id: 'd-x', starts_at: t(30 * DAY), ends_at: t(31 * DAY) }, t(1.5 * DAY))).thenEvents(['DelegationGranted']);
  });

  it('the same delegation id with the same content is answered again without an event; with other content refused', () => {
    given(granted()).when(grant()).thenEvents([]);
    given(granted()).when(grant({ delegate: 'carol' })).thenRefused('invalid_request');
  });

  it('refuses a command for another delegator than the stream holds', () => {
    given(granted()).when(grant({ delegation_id: 'd-2', delegator: 'mallory', starts_at: t(10 * DAY), ends_at: t(11 * DAY) })).thenRefused('invalid_request');
  });
});

describe('RevokeDelegation', () => {
  it('the delegator revokes: DelegationRevoked, the delegation is no longer active; again is already_revoked', () => {
    const then = given(granted()).when(revoke());
    const after = then.thenEvents(['DelegationRevoked']);
    expect(then.result).toMatchObject({ ok: true, outcome: { status: 'revoked', delegation: { revoked: { by: 'alice', at: t(DAY) } } } });
    expect(activeDelegation(after, Date.parse(t(2 * DAY)))).toBeNull();
    expect(delegationStatus(after.delegations[0]!, Date.parse(t(2 * DAY)))).toBe('revoked');
    const again = given(granted(), revoked()).when(revoke());
    again.thenEvents([]);
    expect(again.result).toMatchObject({ outcome: { status: 'already_revoked' } });
  });

  it('an admin revokes any; the delegate is forbidden; anyone else learns nothing (not_found)', () => {
    given(granted()).when(revoke({ revoked_by: 'root', as_admin: true })).thenEvents(['DelegationRevoked']);
    given(granted()).when(revoke({ revoked_by: 'Bob' })).thenRefused('forbidden');
    given(granted()).when(revoke({ revoked_by: 'mallory' })).thenRefused('not_found');
    given(granted()).when(revoke({ delegation_id: 'd-404', revoked_by: 'root', as_admin: true })).thenRefused('not_found');
  });

  it('a delegation is active from starts_at (inclusive) to ends_at (exclusive)', () => {
    const state = foldDelegations([granted({ starts_at: t(DAY), ends_at: t(2 * DAY) })]);
    const d = state.delegations[0]!;
    expect(delegationStatus(d, Date.parse(T0))).toBe('scheduled');
    expect(delegationStatus(d, Date.parse(t(DAY)))).toBe('active');
    expect(delegationStatus(d, Date.parse(t(2 * DAY)))).toBe('ended');
  });
});
