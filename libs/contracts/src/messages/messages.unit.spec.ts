import { describe, expect, it } from 'vitest';
import { toJobStreamId } from '../events';
import { validateMessage } from '../validation';
import { DEAD_LETTER_MESSAGE_VERSION, deadLetterMessage, readDeadLetterHeaders } from './dead-letter.message';
import { AUDIT_MESSAGE_VERSION, auditMessage, AuditMessage, AuditMessageDto } from './audit.message';
import { DISPATCH_MESSAGE_VERSION, dispatchMessage, DispatchMessageDto } from './job-dispatch.message';
import { JOB_APPROVED_MESSAGE_VERSION, JobApprovedMessageDto, toJobApprovedMessage } from './job-approved.message';
import { JOB_EVALUATED_MESSAGE_VERSION, JobEvaluatedMessageDto, releasedByEvaluation, toJobEvaluatedMessage } from './job-evaluated.message';
import { JOB_REQUESTED_MESSAGE_VERSION, jobRequestedMessage, JobRequestedMessageDto, jobRequestOf } from './job-requested.message';
import { JOB_RESULT_MESSAGE_VERSION, jobResultMessage, JobResultMessageDto, jobResultOf } from './job-result.message';
import { readReleaseNotice } from './release-notice';

const SNAP = `sha256:${'a'.repeat(64)}`;
const HASH = `sha256:${'b'.repeat(64)}`;

/** What a consumer receives: the value as the bus encodes it (JSON unless a string), parsed back. */
function onTheWire(value: unknown): unknown {
  return JSON.parse(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The builder's value survives the wire unchanged and validates with the topic's DTO, every member kept. */
function expectRoundTrip(cls: new () => object, value: unknown): void {
  const received = onTheWire(value);
  expect(received).toStrictEqual(typeof value === 'string' ? JSON.parse(value) : value);
  const parsed = validateMessage(cls, received);
  expect(parsed.ok ? [] : parsed.errors).toEqual([]);
  if (parsed.ok) expect(JSON.parse(JSON.stringify(parsed.value))).toStrictEqual(received);
}

describe('one definition per topic: the builder output validates with its DTO and round-trips', () => {
  it('every message is at version 1', () => {
    expect([JOB_REQUESTED_MESSAGE_VERSION, JOB_EVALUATED_MESSAGE_VERSION, JOB_APPROVED_MESSAGE_VERSION, DISPATCH_MESSAGE_VERSION, JOB_RESULT_MESSAGE_VERSION, AUDIT_MESSAGE_VERSION, DEAD_LETTER_MESSAGE_VERSION]).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('signoff.jobs.requested: key job_id, the credential as authorization, and the ingress reads it back', () => {
    const request = { job_id: 'inv-1', topic: 'finance.payment.execute', priority: 'high', tenant: 'acme', labels: { env: 'production' }, payload: { amount: 12 } };
    const record = jobRequestedMessage(request, 'jwt');
    expect(record).toStrictEqual({ key: 'inv-1', value: request, headers: { authorization: 'Bearer jwt' } });
    expect(jobRequestedMessage(request).headers).toStrictEqual({});
    expectRoundTrip(JobRequestedMessageDto, record.value);
    expect(jobRequestOf(onTheWire(record.value), record.key)).toStrictEqual(request);
    const { job_id: _id, ...withoutId } = request;
    expect(jobRequestOf(withoutId, 'inv-1')).toStrictEqual(request);
    expect(() => jobRequestOf({ ...request, job_id: 'other' }, 'inv-1')).toThrow(/differs from the message key/);
    for (const value of [null, [], 'text', 3]) expect(() => jobRequestOf(value, 'inv-1')).toThrow(/not a JSON object/);
  });

  it('signoff.jobs.evaluated: the event data plus the stream tenant, header event-id; other jobs\' events are skipped', () => {
    const data = { job_id: 'j1', decision: 'allow' as const, rule_id: null, reason: 'low risk', policy_snapshot: SNAP, policy_version: 'v1' };
    const record = toJobEvaluatedMessage({ id: 'ev-1', streamId: toJobStreamId({ tenant: 'acme', jobId: 'j1' }), data });
    expect(record).toStrictEqual({ key: 'j1', value: { ...data, tenant: 'acme' }, headers: { 'event-id': 'ev-1' } });
    expectRoundTrip(JobEvaluatedMessageDto, record!.value);
    expectRoundTrip(JobEvaluatedMessageDto, toJobEvaluatedMessage({ id: 'ev-2', streamId: 'job-j1', data: { ...data, decision: 'require_human', rule_id: 'r1' } })!.value);
    expect(readReleaseNotice(onTheWire(record!.value), record!.key)).toEqual({ tenant: 'acme', jobId: 'j1' });
    expect(releasedByEvaluation(record!.value)).toBe(true);
    expect(releasedByEvaluation({ ...data, decision: 'deny' })).toBe(false);
    expect(toJobEvaluatedMessage({ id: 'ev-3', streamId: 'job-other', data })).toBeNull();
    expect(toJobEvaluatedMessage({ id: 'ev-4', streamId: 'policy', data })).toBeNull();
  });

  it('signoff.jobs.approved: the grant with the stream tenant, header event-id', () => {
    const data = { job_id: 'j1', approval_ref: 'apr-1', approval_id: 'approval-9', approved_by: ['rita', 'sam'], policy_snapshot: SNAP, job_hash: HASH, reason: null };
    const record = toJobApprovedMessage({ id: 'ev-1', streamId: 'job-j1', data });
    expect(record).toStrictEqual({
      key: 'j1',
      value: { job_id: 'j1', tenant: 'default', approval_id: 'approval-9', approved_by: ['rita', 'sam'], policy_snapshot: SNAP, job_hash: HASH },
      headers: { 'event-id': 'ev-1' },
    });
    expectRoundTrip(JobApprovedMessageDto, record!.value);
    expect(readReleaseNotice(onTheWire(record!.value), record!.key)).toEqual({ tenant: 'default', jobId: 'j1' });
    expect(toJobApprovedMessage({ id: 'ev-2', streamId: 'job-acme|j2', data })).toBeNull();
  });

  it('signoff.jobs.dispatch: approved and allowed jobs; a missing payload is sent as null', () => {
    const request = { topic: 'finance.payment.execute', priority: 'high', tenant: 'acme', submitted_by: 'agent-7', labels: { env: 'production' }, payload: { amount: 1200 } };
    const approval = { approval_id: 'approval-9', approved_by: ['rita'], policy_snapshot: SNAP, job_hash: HASH };
    const approved = dispatchMessage({ job_id: 'j1', request, approval, attempt: 2, idempotency_key: 'acme|j1:k', job_hash: HASH, policy_snapshot: SNAP, grant: 'g' });
    expect(Object.keys(approved.value)).toEqual(['job_id', 'topic', 'priority', 'tenant', 'labels', 'payload', 'approval', 'attempt', 'idempotency_key', 'submitted_by', 'job_hash', 'policy_snapshot']);
    expect(approved.headers).toStrictEqual({ 'idempotency-key': 'acme|j1:k', 'job-hash': HASH, 'signoff-grant': 'g', approval_granted: 'true' });
    expectRoundTrip(DispatchMessageDto, approved.value);
    const allowed = dispatchMessage({ job_id: 'j1', request: { ...request, payload: undefined }, attempt: 1, idempotency_key: 'acme|j1:k', job_hash: HASH, policy_snapshot: SNAP, grant: 'g' });
    expect(allowed.value).not.toHaveProperty('approval');
    expect(allowed.value.payload).toBeNull();
    expect(allowed.headers).toStrictEqual({ 'idempotency-key': 'acme|j1:k', 'job-hash': HASH, 'signoff-grant': 'g' });
    expectRoundTrip(DispatchMessageDto, allowed.value);
  });

  it('signoff.jobs.results: every status, the credential in the header, never in the value', () => {
    const job = { job_id: 'j1', tenant: 'acme', idempotency_key: 'acme|j1:k', attempt: 1 };
    for (const outcome of [
      { status: 'started' as const },
      { status: 'succeeded' as const, result: { paid: true } },
      { status: 'failed' as const, error: 'declined' },
      { status: 'unknown' as const, error: 'lease lost', fencing_token: 3 },
    ]) {
      const record = jobResultMessage(job, 'worker-1', outcome, 'jwt');
      expect(record.key).toBe('j1');
      expect(record.value).toStrictEqual({ ...job, worker: 'worker-1', ...outcome });
      expect(record.headers).toStrictEqual({ 'idempotency-key': 'acme|j1:k', authorization: 'Bearer jwt' });
      expectRoundTrip(JobResultMessageDto, record.value);
      expect(JSON.parse(JSON.stringify(jobResultOf(onTheWire(record.value), record.key)))).toStrictEqual(record.value);
    }
    const value = jobResultMessage(job, 'worker-1', { status: 'started' }, 'jwt').value;
    expect(() => jobResultOf(value, 'other')).toThrow(/differs from the message key other/);
    expect(() => jobResultOf({ ...value, status: 'done' }, 'j1')).toThrow(/not a valid result message/);
  });

  it('signoff.audit: the structured CloudEvent as JSON text, key = subject (else the stream id), ce-* headers', () => {
    const event: AuditMessage = {
      specversion: '1.0',
      id: 'ev-1',
      source: '/signoff/jobs',
      type: 'signoff.approval.granted',
      subject: 'j1',
      time: '2026-01-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: { job_id: 'j1' },
      correlationid: 'c',
      causationid: '',
      actor: 'rita',
      streamrevision: '3',
      logposition: '42',
      tenant: 'acme',
    };
    const record = auditMessage(event, 'job-acme|j1');
    expect(record).toStrictEqual({
      key: 'j1',
      value: JSON.stringify(event),
      headers: { 'content-type': 'application/cloudevents+json; charset=UTF-8', 'ce-id': 'ev-1', 'ce-type': 'signoff.approval.granted' },
    });
    expectRoundTrip(AuditMessageDto, record.value);
    const { subject: _s, ...unnamed } = event;
    expect(auditMessage(unnamed, 'policy').key).toBe('policy');
  });

  it('<topic>.dlq: the original bytes and headers without the credential, the dead-letter headers read back', () => {
    const value = Buffer.from('{"job_id":"j1","x":1}');
    const original = { topic: 'signoff.jobs.results', partition: 2, offset: '41', key: 'j1', value, headers: { authorization: 'Bearer secret', 'idempotency-key': 'k' } };
    const record = deadLetterMessage(original, { code: 'invalid_request', detail: 'x'.repeat(5000) }, { 'refused-by': 'w1' });
    expect(record.key).toBe('j1');
    expect(record.value.equals(value)).toBe(true);
    expect(Object.keys(record.headers)).toEqual(['idempotency-key', 'refused-by', 'error-code', 'error-detail', 'original-topic', 'original-partition', 'original-offset']);
    expect(readDeadLetterHeaders(record.headers)).toStrictEqual({
      'error-code': 'invalid_request',
      'error-detail': 'x'.repeat(4000),
      'original-topic': 'signoff.jobs.results',
      'original-partition': '2',
      'original-offset': '41',
    });
    expect(readDeadLetterHeaders({ 'idempotency-key': 'k' })).toBeNull();
    expect(deadLetterMessage({ ...original, key: null, value: null }, { code: 'c', detail: 'd' }).value).toHaveLength(0);
  });
});
