import { describe, expect, it } from 'vitest';
import { decideAfterConflict, decideStandby, renewalDue, standbyPollMs } from './subscription-lease.decider';

const TTL = 1_000;

describe('decideStandby', () => {
  it('takes a lease nobody holds at once: no record yet, or released by a clean stop', () => {
    expect(decideStandby(null, null, 'me', 0, TTL)).toEqual({ kind: 'acquire', reason: 'vacant' });
    expect(decideStandby({ owner: null, token: '7' }, null, 'me', 0, TTL)).toEqual({ kind: 'acquire', reason: 'released' });
  });

  it('adopts a record that already names it (its own write whose answer was lost)', () => {
    expect(decideStandby({ owner: 'me', token: '3' }, null, 'me', 0, TTL)).toEqual({ kind: 'acquire', reason: 'mine' });
  });

  it('starts watching a held record it has not seen before, from its own clock', () => {
    expect(decideStandby({ owner: 'other', token: '3' }, null, 'me', 500, TTL)).toEqual({ kind: 'wait', watch: { token: '3', since: 500 } });
  });

  it('waits while the record keeps changing (the owner renews), however old the watch', () => {
    const watch = { token: '3', since: 0 };
    expect(decideStandby({ owner: 'other', token: '4' }, watch, 'me', 5_000, TTL)).toEqual({ kind: 'wait', watch: { token: '4', since: 5_000 } });
  });

  it('takes over once the record has not changed for the ttl, not a moment before', () => {
    const watch = { token: '3', since: 100 };
    expect(decideStandby({ owner: 'other', token: '3' }, watch, 'me', 100 + TTL - 1, TTL)).toEqual({ kind: 'wait', watch });
    expect(decideStandby({ owner: 'other', token: '3' }, watch, 'me', 100 + TTL, TTL)).toEqual({ kind: 'acquire', reason: 'expired' });
  });

  it('compares tokens by value across adapters (string versions, bigint revisions)', () => {
    const watch = { token: 5n, since: 0 };
    expect(decideStandby({ owner: 'other', token: 5n }, watch, 'me', TTL, TTL).kind).toBe('acquire');
  });
});

describe('decideAfterConflict', () => {
  it('another owner, or none, means deposed; a record still naming it was moved by a lease-unaware writer', () => {
    expect(decideAfterConflict({ owner: 'other', token: '9' }, 'me')).toBe('deposed');
    expect(decideAfterConflict({ owner: null, token: '9' }, 'me')).toBe('deposed');
    expect(decideAfterConflict(null, 'me')).toBe('deposed');
    expect(decideAfterConflict({ owner: 'me', token: '9' }, 'me')).toBe('retry');
  });
});

describe('renewal and polling', () => {
  it('an owner renews a third of the ttl after its last write', () => {
    expect(renewalDue(0, 332, TTL)).toBe(false);
    expect(renewalDue(0, 334, TTL)).toBe(true);
  });

  it('a standby polls five times per ttl (never below 5 ms)', () => {
    expect(standbyPollMs(5_000)).toBe(1_000);
    expect(standbyPollMs(10)).toBe(5);
  });
});
