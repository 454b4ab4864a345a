import { describe, expect, it } from 'vitest';
import { JobEvent, JobRequest } from '@signoff/contracts';
import { REDACTED } from '@signoff/observability';
import { parsePolicy, PolicyBundle } from '@signoff/policy-engine';
import { redactEventData, redactionPathsFor, redactRequest, redactResult, UNKNOWN_POLICY_REDACTION } from './history-redaction';

const parsed = parsePolicy(`
version: v1
rules:
  - id: pay
    when: {topic: finance.payment.execute}
    decision: require_human
    redact: [payload.card_number, labels.ssn]
  - id: read
    when: {topic: knowledge.read}
    decision: allow
`);
if (!parsed.ok) throw new Error('test policy');
const bundle: PolicyBundle = parsed.bundle;
const bundles = (snapshot: string) => (snapshot === 'known' ? bundle : null);
const request: JobRequest = {
  topic: 'finance.payment.execute',
  priority: 'high',
  tenant: 'acme',
  submitted_by: 'agent',
  labels: { ssn: '078-05-1120', env: 'production' },
  payload: { card_number: '4111', iban: 'DE00', amount: 5 },
};

describe('history redaction', () => {
  it('paths: the global list plus the deciding rule\'s redact list under the snapshot it was decided by', () => {
    expect(redactionPathsFor(['payload.iban'], { rule_id: 'pay', policy_snapshot: 'known' }, bundles)).toEqual(['payload.iban', 'payload.card_number', 'labels.ssn']);
    expect(redactionPathsFor(['payload.iban'], { rule_id: 'read', policy_snapshot: 'known' }, bundles)).toEqual(['payload.iban']);
    expect(redactionPathsFor(['payload.iban'], { rule_id: null, policy_snapshot: 'known' }, bundles)).toEqual(['payload.iban']);
    expect(redactionPathsFor([], null, bundles)).toEqual([]);
  });

  it('a job decided under a policy the reader does not know is redacted fail-closed (payload, labels, result)', () => {
    expect(redactionPathsFor(['payload.iban'], { rule_id: 'pay', policy_snapshot: 'unknown' }, bundles)).toEqual(['payload.iban', ...UNKNOWN_POLICY_REDACTION]);
    const hidden = redactRequest(request, redactionPathsFor([], { rule_id: 'pay', policy_snapshot: 'unknown' }, bundles));
    expect(hidden).toMatchObject({ topic: request.topic, tenant: 'acme', payload: REDACTED, labels: REDACTED });
  });

  it('redacts requests, results and event data without changing the stored value', () => {
    const paths = redactionPathsFor([], { rule_id: 'pay', policy_snapshot: 'known' }, bundles);
    expect(redactRequest(request, paths)).toEqual({ ...request, labels: { ssn: REDACTED, env: 'production' }, payload: { card_number: REDACTED, iban: 'DE00', amount: 5 } });
    expect(request.payload).toEqual({ card_number: '4111', iban: 'DE00', amount: 5 });
    expect(redactResult({ token: 't', ok: true }, ['result.token', 'payload.x'])).toEqual({ token: REDACTED, ok: true });
    expect(redactResult({ token: 't' }, ['result'])).toBe(REDACTED);
    expect(redactResult({ token: 't' }, ['payload.token'])).toEqual({ token: 't' });
    const meta = { correlationId: 'c', causationId: 'c', actor: 'a', at: 'now' };
    const submitted = { type: 'JobSubmitted', data: { job_id: 'j', request, job_hash: 'h' }, metadata: meta } as JobEvent;
    expect(JSON.stringify(redactEventData(submitted, paths))).not.toMatch(/4111|078-05-1120/);
    const completed = { type: 'JobCompleted', data: { job_id: 'j', idempotency_key: 'k', status: 'succeeded', result: { token: 't' } }, metadata: meta } as JobEvent;
    expect(redactEventData(completed, ['result.token'])).toMatchObject({ result: { token: REDACTED } });
  });

  it('redacts the amended request of JobAmendmentProposed (edit before approve) as it redacts the submitted one', () => {
    const paths = redactionPathsFor([], { rule_id: 'pay', policy_snapshot: 'known' }, bundles);
    const meta = { correlationId: 'c', causationId: 'c', actor: 'rita', at: 'now' };
    const amended = {
      type: 'JobAmendmentProposed',
      data: { job_id: 'j', approval_ref: 'a', amendment_hash: 'h2', amends_job_hash: 'h', request: { ...request, payload: { card_number: '4222', amount: 4 } }, changed_paths: ['payload.amount'], proposed_by: 'rita', evaluation: { decision: 'allow', rule_id: 'pay', policy_snapshot: 'known' } },
      metadata: meta,
    } as JobEvent;
    const shown = redactEventData(amended, paths);
    expect(JSON.stringify(shown)).not.toMatch(/4222|078-05-1120/);
    expect(shown).toMatchObject({ changed_paths: ['payload.amount'], proposed_by: 'rita', request: { payload: { card_number: REDACTED, amount: 4 } } });
  });
});
