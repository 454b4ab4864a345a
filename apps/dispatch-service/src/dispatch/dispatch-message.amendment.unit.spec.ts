import { decide, evolve, initialState, isReleased, JobAggregateState, JobCommand, ReleasedJobState } from '@signoff/approvals';
import { JobRequest } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { SigningKeySet, VerificationKeySet } from '@signoff/keys';
import { jobHash } from '@signoff/policy-engine';
import { verifyDispatch } from '@signoff/worker-sdk';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { resolveDispatchOptions } from '../dispatch.options';
import { DispatchGrantSigner } from './dispatch-grant.signer';
import { newIdempotencyKey, toDispatchMessage } from './dispatch-message';

/*
 * Edit before approve (issue 12 section 5): a grant bound to an amended request is dispatched with
 * the amended request and its hash, signed for that hash, and the worker SDK accepts it (its
 * recomputed hash is the amendment's), while the original request under that grant is refused.
 */

const SNAP = `sha256:${'a'.repeat(64)}`;
const REQUEST: JobRequest = {
  topic: 'finance.payment.execute',
  priority: 'high',
  tenant: 'acme',
  submitted_by: 'agent-7',
  labels: { env: 'production' },
  payload: { amount: 1200, currency: 'EUR', recipient: 'ACME GmbH' },
};
const AMENDED: JobRequest = { ...REQUEST, labels: { env: 'production', reviewed: 'yes' }, payload: { amount: 900, currency: 'EUR', recipient: 'ACME GmbH' } };
const HASH = jobHash(REQUEST);
const AMENDED_HASH = jobHash(AMENDED);
let n = 0;
const meta = (actor = 'tester') => ({ commandId: `cmd-${++n}`, correlationId: 'corr', actor, now: '2025-03-01T10:00:00.000Z' });
const KEY = newIdempotencyKey({ tenant: 'acme', jobId: 'job-1' });

function released(commands: JobCommand[]): ReleasedJobState {
  let state: JobAggregateState = initialState();
  for (const command of commands) {
    const result = decide(command, state);
    if (!result.ok) throw new Error(`${command.type}: ${result.code}`);
    for (const event of result.events) state = evolve(state, event);
  }
  if (!isReleased(state)) throw new Error(`not released: ${state.status}`);
  return state;
}

const commands: JobCommand[] = [
  {
    type: 'SubmitJob',
    data: {
      job_id: 'job-1',
      request: REQUEST,
      job_hash: HASH,
      policy: { decision: 'require_human', rule_id: 'r', reason: 'why', policy_snapshot: SNAP, policy_version: 'v1', approval: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' } },
      approval_ref: 'apr-1',
    },
    metadata: meta('agent-7'),
  },
  {
    type: 'ApproveJob',
    data: {
      job_id: 'job-1',
      reviewer: 'rita',
      reviewer_roles: ['reviewer'],
      reason: 'lower amount',
      active_policy_snapshot: SNAP,
      current_job_hash: HASH,
      reviewed_job_hash: HASH,
      approval_id: 'approval-9',
      amendment: { request: AMENDED, job_hash: AMENDED_HASH, evaluation: { decision: 'require_human', rule_id: 'r', reason: 'why', requirement: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' } } },
    },
    metadata: meta('rita'),
  },
  {
    type: 'ClaimDispatch',
    data: { job_id: 'job-1', attempt: 1, idempotency_key: KEY, claimed_by: 'dispatch-a', grant_fact: { approval_id: 'approval-9', active_policy_snapshot: SNAP } },
    metadata: meta(),
  },
];

const KEYS = SigningKeySet.generate();
const T = new Date('2025-03-01T10:00:05.000Z');
const signer = new DispatchGrantSigner(new FixedClock(T), resolveDispatchOptions({ signing: { keys: KEYS, grantTtlMs: 600_000 } }));
const workerKeys = VerificationKeySet.from(KEYS.publicJwks());

describe('the dispatch of an amended approval', () => {
  it('carries the amended request and its hash (value, approval block, job-hash header, signed grant)', async () => {
    const state = released(commands);
    const message = toDispatchMessage(state, await signer.sign(state));
    expect(message.value).toMatchObject({
      job_id: 'job-1',
      labels: AMENDED.labels,
      payload: AMENDED.payload,
      job_hash: AMENDED_HASH,
      approval: { approval_id: 'approval-9', approved_by: ['rita'], policy_snapshot: SNAP, job_hash: AMENDED_HASH },
    });
    expect(message.headers).toMatchObject({ 'job-hash': AMENDED_HASH, approval_granted: 'true' });
    expect(decodeJwt(message.headers!['signoff-grant'])).toMatchObject({ job_hash: AMENDED_HASH, decision: 'approved', approval_id: 'approval-9' });
  });

  it('is accepted by the worker SDK (the recomputed hash is the amendment\'s); the original request under its grant is refused', async () => {
    const state = released(commands);
    const message = toDispatchMessage(state, await signer.sign(state));
    const verified = await verifyDispatch({ value: message.value, headers: message.headers!, key: message.key }, workerKeys, { now: T });
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.job).toMatchObject({ job_hash: AMENDED_HASH, payload: AMENDED.payload, approval_granted: true });

    const original = { ...(message.value as Record<string, unknown>), labels: REQUEST.labels, payload: REQUEST.payload };
    expect(await verifyDispatch({ value: original, headers: message.headers!, key: message.key }, workerKeys, { now: T })).toMatchObject({ ok: false, code: 'job_hash_mismatch' });
  });
});
