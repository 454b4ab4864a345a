import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@signoff/contracts';
import type { RecordedEvent } from '@signoff/event-store';
import { mayProve, parseEventId, parseTreeSize, queryValue } from './audit-input';
import { decodeCursor, encodeCursor } from './audit-events.handler';
import { latestDecision } from './job-receipt.builder';

const code = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('audit query parsing', () => {
  it('takes one string per parameter, refuses repeats and objects', () => {
    expect(queryValue({ a: 'x' }, 'a')).toBe('x');
    expect(queryValue({}, 'a')).toBeUndefined();
    expect(queryValue({ a: ['x', 'y'] }, 'a')).toBeNull();
    expect(queryValue({ a: { b: '1' } }, 'a')).toBeNull();
  });

  it('event ids are UUIDs (lower-cased), sizes decimal integers in range', () => {
    expect(parseEventId('6F1C8A3E-2B1D-5C4E-9F00-000000000001')).toBe('6f1c8a3e-2b1d-5c4e-9f00-000000000001');
    for (const bad of [undefined, null, '', 'x', '6f1c8a3e2b1d5c4e9f00000000000001', "1' OR 1=1"]) expect(code(() => parseEventId(bad))).toBe('invalid_event_id');
    expect(parseTreeSize('to', undefined, 7, 0, 10)).toBe(7);
    expect(parseTreeSize('to', '10', 7, 0, 10)).toBe(10);
    for (const bad of [null, '', '-1', '1e3', '0x10', ' 1', '11', '1234567890123456']) expect(code(() => parseTreeSize('to', bad, 0, 0, 10))).toBe('invalid_tree_size');
  });

  it('proofs of a tenant event for callers of that tenant; control-plane events for callers of every tenant', () => {
    const p = (tenants: string[] | null) => ({ sub: 'a', roles: new Set(['auditor' as const]), topics: null, tenants });
    expect(mayProve(p(null), 'acme')).toBe(true);
    expect(mayProve(p(null), null)).toBe(true);
    expect(mayProve(p(['acme']), 'acme')).toBe(true);
    expect(mayProve(p(['acme']), 'globex')).toBe(false);
    expect(mayProve(p(['acme']), null)).toBe(false);
  });

  it('cursors round-trip and anything else is invalid_cursor', () => {
    expect(decodeCursor(encodeCursor(42n))).toBe(42n);
    expect(decodeCursor(undefined)).toBeNull();
    for (const bad of ['x', '!!!', Buffer.from('{"p":"-1"}').toString('base64url'), Buffer.from('{"p":1}').toString('base64url'), 'a'.repeat(300)]) {
      expect(code(() => decodeCursor(bad))).toBe('invalid_cursor');
    }
  });
});

describe('latestDecision (receipts)', () => {
  const ref = { tenant: 'default', jobId: 'j1' };
  let n = 0;
  const ev = (type: string, data: Record<string, unknown>, at = '2026-12-02T10:00:00.000Z') =>
    ({ id: `00000000-0000-5000-8000-00000000000${n++}`, streamId: 'job-j1', revision: BigInt(n), position: BigInt(n), createdAt: new Date(at), type, data, metadata: { at } }) as unknown as RecordedEvent<JobEvent>;
  const submitted = ev('JobSubmitted', { job_id: 'j1', job_hash: 'sha256:h', request: {} });

  it('allowed by policy; no decision while awaiting reviewers; granted, rejected, expired, invalidated', () => {
    expect(latestDecision(ref, [submitted, ev('PolicyEvaluated', { decision: 'allow', policy_snapshot: 'sha256:p' })])).toMatchObject({ decision: 'allowed', job_hash: 'sha256:h', policy_snapshot: 'sha256:p', approvers: [] });
    const requested = [submitted, ev('PolicyEvaluated', { decision: 'require_human', policy_snapshot: 'sha256:p' }), ev('ApprovalRequested', { policy_snapshot: 'sha256:p', job_hash: 'sha256:h' })];
    expect(latestDecision(ref, requested)).toBeNull();
    const granted = ev('ApprovalGranted', { approved_by: ['rita', 'sam'], policy_snapshot: 'sha256:p', job_hash: 'sha256:amended' }, '2026-12-02T11:00:00.000Z');
    expect(latestDecision(ref, [...requested, granted])).toMatchObject({ decision: 'granted', approvers: ['rita', 'sam'], job_hash: 'sha256:amended', decided_at: '2026-12-02T11:00:00.000Z', event_id: granted.id, stream_id: 'job-j1' });
    expect(latestDecision(ref, [...requested, ev('ApprovalRejected', { rejected_by: 'sam' })])).toMatchObject({ decision: 'rejected', approvers: ['sam'] });
    expect(latestDecision(ref, [...requested, ev('ApprovalExpired', {})])).toMatchObject({ decision: 'expired' });
    expect(latestDecision(ref, [...requested, granted, ev('ApprovalInvalidated', { code: 'snapshot_changed' })])).toMatchObject({ decision: 'invalidated', policy_snapshot: 'sha256:p' });
  });
});
