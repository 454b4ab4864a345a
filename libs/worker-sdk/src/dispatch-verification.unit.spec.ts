import { jobHash } from '@signoff/policy-engine';
import { describe, expect, it } from 'vitest';
import { verifyDispatch } from './dispatch-verification';

const request = { topic: 'knowledge.read', priority: 'normal', tenant: 'default', submitted_by: 'agent-1', labels: { a: 'b' }, payload: { q: 'x' } };
const HASH = jobHash(request);
const value = { job_id: 'j1', ...request, attempt: 2, idempotency_key: 'j1:dispatch' };
const headers = { 'idempotency-key': 'j1:dispatch', 'job-hash': HASH };

describe('verifyDispatch', () => {
  it('accepts an allowed job whose recomputed hash equals the job-hash header', () => {
    const v = verifyDispatch(value, headers, 'j1');
    expect(v).toEqual({
      ok: true,
      job: { job_id: 'j1', ...request, approval_granted: false, attempt: 2, idempotency_key: 'j1:dispatch', job_hash: HASH },
    });
  });

  it('hashes an absent payload as null, as the submit side does', () => {
    const noPayload = { ...request, payload: null };
    const { payload: _drop, ...withoutPayload } = value;
    const v = verifyDispatch(withoutPayload, { ...headers, 'job-hash': jobHash(noPayload) }, 'j1');
    expect(v.ok).toBe(true);
  });

  it('refuses with job_hash_mismatch when any claimed hash differs, or none is claimed, or submitted_by is missing', () => {
    expect(verifyDispatch(value, { ...headers, 'job-hash': `sha256:${'0'.repeat(64)}` }, 'j1')).toMatchObject({ ok: false, code: 'job_hash_mismatch' });
    const approval = { approval_id: 'ap', approved_by: ['rita'], policy_snapshot: 's', job_hash: `sha256:${'1'.repeat(64)}` };
    expect(verifyDispatch({ ...value, approval }, { ...headers, approval_granted: 'true' }, 'j1')).toMatchObject({
      ok: false,
      code: 'job_hash_mismatch',
      detail: expect.stringContaining('approval.job_hash'),
    });
    expect(verifyDispatch(value, { 'idempotency-key': 'j1:dispatch' }, 'j1')).toMatchObject({ ok: false, code: 'job_hash_mismatch' });
    const { submitted_by: _s, ...anonymous } = value;
    expect(verifyDispatch(anonymous, headers, 'j1')).toMatchObject({ ok: false, code: 'job_hash_mismatch', job_id: 'j1', idempotency_key: 'j1:dispatch' });
  });

  it('refuses invalid messages: not an object, unknown members, key or idempotency-key header disagreeing, a claimed approval that is absent', () => {
    expect(verifyDispatch(null, headers, 'j1')).toMatchObject({ ok: false, code: 'invalid_message', job_id: null });
    expect(verifyDispatch({ ...value, approval_granted_by: 'me' }, headers, 'j1')).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(verifyDispatch({ ...value, attempt: 0 }, headers, 'j1')).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(verifyDispatch(value, headers, 'j2')).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(verifyDispatch(value, { ...headers, 'idempotency-key': 'other' }, 'j1')).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(verifyDispatch(value, { ...headers, approval_granted: 'true' }, 'j1')).toMatchObject({ ok: false, code: 'invalid_message' });
  });
});
