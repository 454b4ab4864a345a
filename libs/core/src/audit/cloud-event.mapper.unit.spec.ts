import { describe, expect, it } from 'vitest';
import { auditMessage, AuditMessageDto, JOB_EVENT_TYPES, SignoffEvent, validateMessage } from '@signoff/contracts';
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

describe('CloudEvents attributes from untrusted sources', () => {
  // CloudEvents 1.0 forbids U+0000-U+001F and U+007F-U+009F in String attributes; bidi overrides
  // and lone surrogates would disguise what an auditor reads.
  const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/;

  it('never carry a control character, whatever the actor, correlation or causation id held', () => {
    const hostile = {
      ...submitted,
      metadata: { correlationId: 'c\u0000\u001b[31m', causationId: 'k\ud800', actor: 'mallory\nactor: admin\u000f\u202eevil', at: '2026-01-01T00:00:00.000Z' },
    } as unknown as RecordedEvent<SignoffEvent>;
    const ce = toCloudEvent(hostile, []);
    expect(ce.validate()).toBe(true);
    const attributes = JSON.parse(JSON.stringify(ce)) as Record<string, unknown>;
    delete attributes.data;
    for (const [name, value] of Object.entries(attributes)) {
      expect(typeof value === 'string' && CONTROL.test(value), `attribute ${name}`).toBe(false);
    }
    expect(attributes.actor).toBe('mallory\\u000aactor: admin\\u000f\\u202eevil');
    expect(attributes.correlationid).toBe('c\\u0000\\u001b[31m');
    expect(attributes.causationid).toBe('k\\ud800');
  });

  it('a worker name from a results report is escaped too (JobStarted actor)', () => {
    const started = {
      ...submitted,
      type: 'JobStarted',
      data: { job_id: 'j1', idempotency_key: 'j1:dispatch', worker: 'w\r\n1' },
      metadata: { correlationId: 'j1:dispatch\u0085', causationId: 'x', actor: 'w\r\n1', at: '2026-01-01T00:00:00.000Z' },
    } as unknown as RecordedEvent<SignoffEvent>;
    const ce = toCloudEvent(started, []);
    expect(ce.actor).toBe('w\\u000d\\u000a1');
    expect(ce.correlationid).toBe('j1:dispatch\\u0085');
  });
});

describe('the signoff.audit message', () => {
  it('of every CloudEvent the relay makes validates with AuditMessageDto of @signoff/contracts and round-trips', () => {
    const policy = { ...submitted, streamId: 'policy', type: 'PolicyActivated', data: { snapshot: `sha256:${'c'.repeat(64)}`, version: 'v2', activatedBy: 'admin' } } as unknown as RecordedEvent<SignoffEvent>;
    const tenanted = { ...submitted, streamId: 'job-acme|j1' } as unknown as RecordedEvent<SignoffEvent>;
    for (const event of [submitted, tenanted, policy]) {
      const ce = toCloudEvent(event, ['payload.card_number']);
      const record = auditMessage(ce, event.streamId);
      expect(record.value).toBe(JSON.stringify(ce));
      expect(record.key).toBe(ce.subject);
      const parsed = validateMessage(AuditMessageDto, JSON.parse(record.value));
      expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    }
  });
});
