import { describe, expect, it } from 'vitest';
import { JOB_EVENT_TYPES, SignoffEvent } from '@signoff/contracts';
import { RecordedEvent } from '@signoff/event-store';
import { REDACTED } from '@signoff/observability';
import { cloudEventType, toCloudEvent } from './cloud-event.mapper';

const submitted = {
  id: '6f1c8a3e-2b1d-5c4e-9f00-000000000001',
  streamId: 'job-j1',
  revision: 0n,
  position: 42n,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  type: 'JobSubmitted',
  data: {
    job_id: 'j1',
    job_hash: 'sha256:' + '0'.repeat(64),
    request: { topic: 'finance.payment.execute', priority: 'high', tenant: 'acme', submitted_by: 'agent', labels: { env: 'production' }, payload: { card_number: '4111111111111111', amount: 12 } },
  },
  metadata: { correlationId: 'c1', causationId: 'k1', actor: 'agent', at: '2026-01-01T00:00:00.000Z' },
} as unknown as RecordedEvent<SignoffEvent>;

describe('audit CloudEvents', () => {
  it('gives every domain event a distinct signoff.* type', () => {
    const types = [...JOB_EVENT_TYPES, 'PolicyActivated' as const].map(cloudEventType);
    expect(new Set(types).size).toBe(types.length);
    for (const t of types) expect(t).toMatch(/^signoff\.[a-z]+\.[a-z_]+$/);
    expect(cloudEventType('ApprovalGranted')).toBe('signoff.approval.granted');
  });

  it('is a valid structured CloudEvent 1.0 with subject = job id, the event id, and redacted fields', () => {
    const ce = toCloudEvent(submitted, ['payload.card_number']);
    expect(ce.validate()).toBe(true);
    const json = JSON.parse(JSON.stringify(ce)) as Record<string, unknown> & { data: { request: { payload: Record<string, unknown> } } };
    expect(json).toMatchObject({ specversion: '1.0', id: submitted.id, type: 'signoff.job.submitted', subject: 'j1', source: '/signoff/jobs', actor: 'agent', logposition: '42' });
    expect(json.data.request.payload).toEqual({ card_number: REDACTED, amount: 12 });
    expect((submitted.data as { request: { payload: { card_number: string } } }).request.payload.card_number).toBe('4111111111111111');
  });
});
