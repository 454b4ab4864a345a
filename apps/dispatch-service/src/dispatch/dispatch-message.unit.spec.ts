import { decide, evolve, initialState, isReleased, JobAggregateState, JobCommand, ReleasedJobState } from '@signoff/approvals';
import { DISPATCH_GRANT_TYP, JobRequest } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { SigningKeySet, VerificationKeySet } from '@signoff/keys';
import { jobHash } from '@signoff/policy-engine';
import { verifyDispatch } from '@signoff/worker-sdk';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { resolveDispatchOptions } from '../dispatch.options';
import { DispatchGrantSigner } from './dispatch-grant.signer';
import { newIdempotencyKey, toDispatchMessage } from './dispatch-message';

const SNAP = `sha256:${'a'.repeat(64)}`;
const REQUEST: JobRequest = {
  topic: 'finance.payment.execute',
  priority: 'high',
  tenant: 'acme',
  submitted_by: 'agent-7',
  labels: { env: 'production' },
  payload: { amount: 1200, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] },
};
const HASH = jobHash(REQUEST);
let n = 0;
const meta = (actor = 'tester') => ({ commandId: `cmd-${++n}`, correlationId: 'corr', actor, now: '2025-03-01T10:00:00.000Z' });

function run(commands: JobCommand[]): JobAggregateState {
  let state = initialState();
  for (const command of commands) {
    const result = decide(command, state);
    if (!result.ok) throw new Error(`${command.type}: ${result.code}`);
    for (const event of result.events) state = evolve(state, event);
  }
  return state;
}

function submit(decision: 'allow' | 'require_human'): JobCommand {
  return {
    type: 'SubmitJob',
    data: {
      job_id: 'job-1',
      request: REQUEST,
      job_hash: HASH,
      policy: {
        decision,
        rule_id: 'r',
        reason: 'why',
        policy_snapshot: SNAP,
        policy_version: 'v1',
        ...(decision === 'require_human' ? { approval: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' as const } } : {}),
      },
      ...(decision === 'require_human' ? { approval_ref: 'apr-1' } : {}),
    },
    metadata: meta('agent-7'),
  };
}

const approve: JobCommand = {
  type: 'ApproveJob',
  data: {
    job_id: 'job-1',
    reviewer: 'rita',
    reviewer_roles: ['reviewer'],
    reason: null,
    active_policy_snapshot: SNAP,
    current_job_hash: HASH,
    approval_id: 'approval-9',
  },
  metadata: meta('rita'),
};
const KEY = newIdempotencyKey({ tenant: 'default', jobId: 'job-1' });
const claim = (attempt = 1): JobCommand => ({
  type: 'ClaimDispatch',
  data: {
    job_id: 'job-1',
    attempt,
    idempotency_key: KEY,
    claimed_by: 'dispatch-a',
    // What the dispatcher read from the log: the approval's snapshot was active at the grant's position.
    grant_fact: { approval_id: 'approval-9', active_policy_snapshot: SNAP },
  },
  metadata: meta(),
});
const KEYS = SigningKeySet.generate();
const T = new Date('2025-03-01T10:00:05.000Z');
const signer = new DispatchGrantSigner(new FixedClock(T), resolveDispatchOptions({ signing: { keys: KEYS, grantTtlMs: 600_000 } }));
const workerKeys = VerificationKeySet.from(KEYS.publicJwks());
/** The message the dispatcher publishes: built and signed. */
async function published(state: ReleasedJobState) {
  return toDispatchMessage(state, await signer.sign(state));
}

function released(commands: JobCommand[]): ReleasedJobState {
  const state = run(commands);
  if (!isReleased(state)) throw new Error(`not released: ${state.status}`);
  return state;
}

describe('the idempotency key', () => {
  it('is unpredictable: 128 random bits after the job id, a new one for every first claim', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => newIdempotencyKey({ tenant: 'default', jobId: 'job-1' })));
    expect(keys.size).toBe(1000);
    for (const key of keys) expect(key).toMatch(/^job-1:[A-Za-z0-9_-]{22}$/);
    expect(keys.has('job-1:dispatch')).toBe(false);
  });
});

describe('the dispatch message (DESIGN §6)', () => {
  it('of an approved job: key job_id, exactly the §6 value plus submitted_by, job_hash, policy_snapshot; approval_granted/idempotency-key/job-hash/signoff-grant headers', async () => {
    const message = await published(released([submit('require_human'), approve, claim()]));
    expect(message.key).toBe('job-1');
    expect(message.value).toStrictEqual({
      job_id: 'job-1',
      topic: 'finance.payment.execute',
      priority: 'high',
      tenant: 'acme',
      labels: { env: 'production' },
      payload: { amount: 1200, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] },
      approval: { approval_id: 'approval-9', approved_by: ['rita'], policy_snapshot: SNAP, job_hash: HASH },
      attempt: 1,
      idempotency_key: KEY,
      submitted_by: 'agent-7',
      job_hash: HASH,
      policy_snapshot: SNAP,
    });
    expect(message.headers).toStrictEqual({ approval_granted: 'true', 'idempotency-key': KEY, 'job-hash': HASH, 'signoff-grant': expect.any(String) });
  });

  it('of an allowed job: no approval block and no approval_granted header; the grant says allow', async () => {
    const message = await published(released([submit('allow'), claim()]));
    expect(message.value).not.toHaveProperty('approval');
    expect(message.value).toMatchObject({ job_hash: HASH, policy_snapshot: SNAP });
    expect(message.headers).toStrictEqual({ 'idempotency-key': KEY, 'job-hash': HASH, 'signoff-grant': expect.any(String) });
    expect(decodeJwt(message.headers!['signoff-grant'])).toMatchObject({ decision: 'allow', approval_id: null, approved_by: [] });
  });

  it('refuses to build or sign a message for an attempt nobody claimed', async () => {
    expect(() => toDispatchMessage(released([submit('allow')]), 'grant')).toThrow(/no claimed dispatch/);
    await expect(signer.sign(released([submit('allow')]))).rejects.toThrow(/no claimed dispatch/);
  });

  it('carries a grant signed with the current key that covers every field of DESIGN section 12, valid for the grant lifetime', async () => {
    const message = await published(released([submit('require_human'), approve, claim(), { type: 'ReplayDispatch', data: { job_id: 'job-1', attempt: 2, reason: 'not_recorded', max_attempts: 5 }, metadata: meta() }, claim(2)]));
    const grant = message.headers!['signoff-grant'];
    expect(decodeProtectedHeader(grant)).toEqual({ alg: 'EdDSA', kid: KEYS.currentKid, typ: DISPATCH_GRANT_TYP });
    expect(decodeJwt(grant)).toEqual({
      job_id: 'job-1',
      tenant: 'acme',
      job_hash: HASH,
      policy_snapshot: SNAP,
      decision: 'approved',
      approval_id: 'approval-9',
      approved_by: ['rita'],
      attempt: 2,
      idempotency_key: KEY,
      iat: T.getTime() / 1000,
      exp: T.getTime() / 1000 + 600,
    });
  });

  it('is what the worker SDK verifies: grant and recomputed hash match, and any tampering is refused', async () => {
    const message = await published(released([submit('require_human'), approve, claim()]));
    const verified = await verifyDispatch({ value: message.value, headers: message.headers!, key: message.key }, workerKeys, { now: T });
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.job).toMatchObject({ job_hash: HASH, approval_granted: true, attempt: 1, idempotency_key: KEY, grant: { key_id: KEYS.currentKid, decision: 'approved' } });

    const value = message.value as Record<string, unknown>;
    for (const tampered of [
      { ...value, payload: { amount: 99_999, currency: 'EUR', lines: [{ sku: 'x', qty: 2 }] } },
      { ...value, labels: { env: 'staging' } },
      { ...value, submitted_by: 'mallory' },
      { ...value, priority: 'low' },
      { ...value, topic: 'finance.payment.refund' },
    ]) {
      const refused = await verifyDispatch({ value: tampered, headers: message.headers!, key: message.key }, workerKeys, { now: T });
      expect(refused).toMatchObject({ ok: false, code: 'job_hash_mismatch', job_id: 'job-1', idempotency_key: KEY });
    }
    // The tenant is covered by the grant itself.
    expect(await verifyDispatch({ value: { ...value, tenant: 'other' }, headers: message.headers!, key: message.key }, workerKeys, { now: T })).toMatchObject({ ok: false, code: 'grant_mismatch' });
    const { 'signoff-grant': _grant, ...unsigned } = message.headers!;
    expect(await verifyDispatch({ value: message.value, headers: unsigned, key: message.key }, workerKeys, { now: T })).toMatchObject({ ok: false, code: 'unsigned' });
    const other = await toDispatchMessage(released([submit('allow'), claim()]), await signer.sign(released([submit('allow'), claim()])));
    // An allowed job's genuine grant does not make an approval of it.
    const smuggled = { ...message.headers!, 'signoff-grant': other.headers!['signoff-grant'] };
    expect(await verifyDispatch({ value: message.value, headers: smuggled, key: message.key }, workerKeys, { now: T })).toMatchObject({ ok: false, code: 'grant_mismatch' });
  });
});

describe('idempotency keys', () => {
  it('never repeat across tenants: the same job id in two tenants gets two keys, the tenant named outside the default', () => {
    expect(newIdempotencyKey({ tenant: 'default', jobId: 'j' })).toMatch(/^j:[A-Za-z0-9_-]{22}$/);
    expect(newIdempotencyKey({ tenant: 'acme', jobId: 'j' })).toMatch(/^acme\|j:[A-Za-z0-9_-]{22}$/);
    expect(newIdempotencyKey({ tenant: 'acme', jobId: 'j' })).not.toBe(newIdempotencyKey({ tenant: 'globex', jobId: 'j' }));
  });
});
