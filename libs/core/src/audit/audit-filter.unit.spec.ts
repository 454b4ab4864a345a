import { describe, expect, it } from 'vitest';
import type { SignoffEvent } from '@signoff/contracts';
import type { RecordedEvent } from '@signoff/event-store';
import { decisionOf, matchesAuditFilter, parseAuditFilter } from './audit-filter';

const code = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

const event = (type: string, data: Record<string, unknown>, streamId = 'job-acme|j1', actor = 'rita', at = '2026-12-02T10:00:00.000Z') =>
  ({ id: 'e', streamId, revision: 0n, position: 1n, createdAt: new Date(at), type, data, metadata: { actor, at } }) as unknown as RecordedEvent<SignoffEvent>;

describe('the auditor filters', () => {
  it('parse the query and refuse what cannot be read, naming the parameter', () => {
    expect(parseAuditFilter({})).toEqual({});
    expect(parseAuditFilter({ actor: 'rita', decision: 'granted', from: '2026-12-01', to: '2026-12-02T10:00:00Z' })).toMatchObject({ actor: 'rita', decision: 'granted', from: Date.parse('2026-12-01'), to: Date.parse('2026-12-02T10:00:00Z') });
    for (const bad of [{ decision: 'maybe' }, { from: 'yesterday' }, { from: '2026-12-02', to: '2026-12-01' }, { actor: 'x'.repeat(257) }, { actor: 'a\u0000' }, { tenant: null }]) {
      expect(code(() => parseAuditFilter(bad)), JSON.stringify(bad)).toBe('invalid_audit_filter');
    }
  });

  it('match actor, tenant, decision, time and topic together', async () => {
    const granted = event('ApprovalGranted', { job_id: 'j1' });
    const topicOf = async () => 'finance.payment.execute';
    const match = (input: Parameters<typeof parseAuditFilter>[0], e = granted) => matchesAuditFilter(parseAuditFilter(input), e, topicOf);
    expect(await match({ actor: 'rita', tenant: 'acme', decision: 'granted', topic: 'finance.*', from: '2026-12-02', to: '2026-12-03' })).toBe(true);
    expect(await match({ actor: 'sam' })).toBe(false);
    expect(await match({ tenant: 'default' })).toBe(false);
    expect(await match({ decision: 'rejected' })).toBe(false);
    expect(await match({ topic: 'customer.*' })).toBe(false);
    expect(await match({ to: '2026-12-01' })).toBe(false);
    expect(await match({ tenant: 'default' }, event('ApprovalGranted', {}, 'job-j9'))).toBe(true);
    expect(decisionOf(event('PolicyEvaluated', { decision: 'deny' }))).toBe('denied');
    expect(decisionOf(event('PolicyEvaluated', { decision: 'require_human' }))).toBe('approval_required');
    expect(decisionOf(event('JobStarted', {}))).toBeNull();
  });
});
