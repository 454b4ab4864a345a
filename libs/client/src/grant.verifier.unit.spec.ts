import { DISPATCH_GRANT_TYP, DispatchGrantClaims } from '@signoff/contracts';
import { SigningKeySet, VerificationKeySet } from '@signoff/keys';
import { jobHash } from '@signoff/policy-engine';
import { describe, expect, it } from 'vitest';
import { verifyGrant } from './grant.verifier';
import { SignoffApiError } from './signoff-api.error';

const NOW = new Date('2026-03-01T10:00:00Z');
const SNAP = `sha256:${'5'.repeat(64)}`;
const request = { topic: 'finance.payment.execute', priority: 'high', tenant: 'default', submitted_by: 'agent-1', labels: { env: 'production' }, payload: { amount: 42 } };
const HASH = jobHash(request);
const KEY = 'j1:Zk3q0-random';
const approval = { approval_id: 'ap-1', approved_by: ['rita'], policy_snapshot: SNAP, job_hash: HASH };
const value = { job_id: 'j1', ...request, attempt: 1, idempotency_key: KEY, job_hash: HASH, policy_snapshot: SNAP, approval };
const claims: DispatchGrantClaims = { job_id: 'j1', tenant: 'default', job_hash: HASH, policy_snapshot: SNAP, decision: 'approved', approval_id: 'ap-1', approved_by: ['rita'], attempt: 1, idempotency_key: KEY };

const control = SigningKeySet.generate();
const grant = (keys = control) => keys.sign({ ...claims }, { typ: DISPATCH_GRANT_TYP, issuedAt: NOW, expiresAt: new Date(NOW.getTime() + 3_600_000) });

/** The record as kafkajs hands it over: value, key and header values as Buffers. */
const record = async (v: unknown = value, keys = control) => ({
  key: Buffer.from('j1'),
  value: Buffer.from(JSON.stringify(v)),
  headers: { 'signoff-grant': Buffer.from(await grant(keys)), 'idempotency-key': Buffer.from(KEY), 'job-hash': Buffer.from(HASH), approval_granted: Buffer.from('true') },
});
const refusal = (promise: Promise<unknown>) => promise.then(() => null, (e: unknown) => e as SignoffApiError);

describe('verifyGrant: the worker SDK\'s verification for workers without it', () => {
  it('verifies a Kafka record (Buffers) against the public JWK Set and hands back the verified job', async () => {
    const job = await verifyGrant(await record(), { keys: control.publicJwks(), now: NOW });
    expect(job).toMatchObject({ job_id: 'j1', payload: { amount: 42 }, approval_granted: true, job_hash: HASH, grant: { key_id: control.currentKid, decision: 'approved' } });
  });

  it('refuses with the worker SDK\'s codes: unsigned, unknown key, changed payload, garbage value, expired', async () => {
    const keys = VerificationKeySet.from(control.publicJwks());
    const unsigned = { ...(await record()), headers: {} };
    expect(await refusal(verifyGrant(unsigned, { keys, now: NOW }))).toMatchObject({ name: 'SignoffApiError', code: 'unsigned', details: { job_id: 'j1' } });
    expect(await refusal(verifyGrant(await record(value, SigningKeySet.generate()), { keys, now: NOW }))).toMatchObject({ code: 'unknown_key' });
    expect(await refusal(verifyGrant(await record({ ...value, payload: { amount: 4200 } }), { keys, now: NOW }))).toMatchObject({ code: 'job_hash_mismatch' });
    const garbage = { ...(await record()), value: Buffer.from('{not json') };
    expect(await refusal(verifyGrant(garbage, { keys, now: NOW }))).toMatchObject({ code: 'invalid_message' });
    expect(await refusal(verifyGrant(await record(), { keys, now: new Date(NOW.getTime() + 2 * 3_600_000) }))).toMatchObject({ code: 'grant_expired' });
  });
});
