import { DISPATCH_GRANT_TYP, DispatchGrantClaims } from '@signoff/contracts';
import { generateSigningKey, SigningKeySet, VerificationKeySet } from '@signoff/keys';
import { jobHash } from '@signoff/policy-engine';
import { describe, expect, it } from 'vitest';
import { DispatchEnvelope, verifyDispatch } from './dispatch-verification';

const NOW = new Date('2026-03-01T10:00:00Z');
const SNAP = `sha256:${'5'.repeat(64)}`;
const request = { topic: 'knowledge.read', priority: 'normal', tenant: 'default', submitted_by: 'agent-1', labels: { a: 'b' }, payload: { q: 'x' } };
const HASH = jobHash(request);
const KEY = 'j1:Zk3q0-random';
const value = { job_id: 'j1', ...request, attempt: 2, idempotency_key: KEY, job_hash: HASH, policy_snapshot: SNAP };
const headers = { 'idempotency-key': KEY, 'job-hash': HASH };
const claims: DispatchGrantClaims = {
  job_id: 'j1',
  tenant: 'default',
  job_hash: HASH,
  policy_snapshot: SNAP,
  decision: 'allow',
  approval_id: null,
  approved_by: [],
  attempt: 2,
  idempotency_key: KEY,
};
const approval = { approval_id: 'ap-1', approved_by: ['rita', 'sam'], policy_snapshot: SNAP, job_hash: HASH };
const approvedClaims: DispatchGrantClaims = { ...claims, decision: 'approved', approval_id: 'ap-1', approved_by: ['rita', 'sam'] };

const control = SigningKeySet.generate();
const trusted = VerificationKeySet.from(control.publicJwks());
const grant = (c: DispatchGrantClaims | Record<string, unknown> = claims, keys = control, issuedAt = NOW, ttlMs = 3_600_000) =>
  keys.sign({ ...c }, { typ: DISPATCH_GRANT_TYP, issuedAt, expiresAt: new Date(issuedAt.getTime() + ttlMs) });
const verify = (envelope: DispatchEnvelope, now = NOW) => verifyDispatch(envelope, trusted, { now });
const signed = async (v: unknown = value, h: Record<string, string> = headers, c: DispatchGrantClaims | Record<string, unknown> = claims): Promise<DispatchEnvelope> => ({
  value: v,
  headers: { ...h, 'signoff-grant': await grant(c) },
  key: 'j1',
});

describe('verifyDispatch: the grant first (DESIGN section 12)', () => {
  it('accepts an allowed job whose grant verifies and matches the body, and hands the handler the grant', async () => {
    const v = await verify(await signed());
    expect(v).toEqual({
      ok: true,
      job: {
        job_id: 'j1',
        ...request,
        approval_granted: false,
        attempt: 2,
        idempotency_key: KEY,
        job_hash: HASH,
        policy_snapshot: SNAP,
        grant: { key_id: control.currentKid, decision: 'allow', issued_at: NOW.toISOString(), expires_at: '2026-03-01T11:00:00.000Z' },
      },
    });
  });

  it('accepts an approved job: approval block, approval_granted header and the grant agree', async () => {
    const v = await verify(await signed({ ...value, approval }, { ...headers, approval_granted: 'true' }, approvedClaims));
    expect(v).toMatchObject({ ok: true, job: { approval_granted: true, approval, grant: { decision: 'approved' } } });
  });

  it('refuses an unsigned message, even a perfect forgery of an approved job: unsigned', async () => {
    const forged = { value: { ...value, approval }, headers: { ...headers, approval_granted: 'true' }, key: 'j1' };
    expect(await verify(forged)).toMatchObject({ ok: false, code: 'unsigned' });
    expect(await verify({ ...forged, headers: { ...forged.headers, 'signoff-grant': '' } })).toMatchObject({ ok: false, code: 'unsigned' });
  });

  it('refuses a grant signed by a key outside the trusted set (unknown_key), forged under a trusted key id (bad_signature), or malformed', async () => {
    const stranger = SigningKeySet.generate();
    expect(await verify({ value, headers: { ...headers, 'signoff-grant': await grant(claims, stranger) }, key: 'j1' })).toMatchObject({ ok: false, code: 'unknown_key' });
    const impostor = SigningKeySet.fromJwk({ ...generateSigningKey().privateJwk, kid: control.currentKid });
    expect(await verify({ value, headers: { ...headers, 'signoff-grant': await grant(claims, impostor) }, key: 'j1' })).toMatchObject({ ok: false, code: 'bad_signature' });
    expect(await verify({ value, headers: { ...headers, 'signoff-grant': 'not.a.grant' }, key: 'j1' })).toMatchObject({ ok: false, code: 'bad_signature' });
    expect(await verify(await signed(value, headers, { ...claims, attempt: 'two' }))).toMatchObject({ ok: false, code: 'bad_signature' });
    // A token of another type signed by the same key (a future receipt, say) is no grant.
    const receipt = await control.sign({ ...claims }, { typ: 'signoff-receipt+jwt', issuedAt: NOW, expiresAt: new Date(NOW.getTime() + 60_000) });
    expect(await verify({ value, headers: { ...headers, 'signoff-grant': receipt }, key: 'j1' })).toMatchObject({ ok: false, code: 'bad_signature' });
  });

  it('refuses an expired grant (grant_expired) and one issued in the future (grant_not_yet_valid), with 30 s of skew', async () => {
    const envelope = await signed();
    expect(await verify(envelope, new Date(NOW.getTime() + 3_600_000 + 29_000))).toMatchObject({ ok: true });
    expect(await verify(envelope, new Date(NOW.getTime() + 3_600_000 + 31_000))).toMatchObject({ ok: false, code: 'grant_expired' });
    expect(await verify(envelope, new Date(NOW.getTime() - 60_000))).toMatchObject({ ok: false, code: 'grant_not_yet_valid' });
  });

  it('refuses a body that differs from the grant in any covered field: grant_mismatch', async () => {
    const base = await signed();
    const approvedEnvelope = await signed({ ...value, approval }, { ...headers, approval_granted: 'true' }, approvedClaims);
    const cases: Array<[string, DispatchEnvelope]> = [
      ['job_id', { ...base, value: { ...value, job_id: 'j2' }, key: 'j2' }],
      ['tenant', { ...base, value: { ...value, tenant: 'other' } }],
      ['job_hash', { ...base, headers: { ...base.headers, 'job-hash': `sha256:${'0'.repeat(64)}` } }],
      ['job_hash', { ...base, value: { ...value, job_hash: `sha256:${'0'.repeat(64)}` } }],
      ['policy_snapshot', { ...base, value: { ...value, policy_snapshot: `sha256:${'6'.repeat(64)}` } }],
      ['decision', { ...base, value: { ...value, approval }, headers: { ...base.headers, approval_granted: 'true' } }],
      ['decision', { ...base, headers: { ...base.headers, approval_granted: 'true' } }],
      ['decision', { ...approvedEnvelope, headers: { ...headers, 'signoff-grant': approvedEnvelope.headers['signoff-grant'] } }],
      ['approval_id', { ...approvedEnvelope, value: { ...value, approval: { ...approval, approval_id: 'ap-2' } } }],
      ['approved_by', { ...approvedEnvelope, value: { ...value, approval: { ...approval, approved_by: ['sam', 'rita'] } } }],
      ['approved_by', { ...approvedEnvelope, value: { ...value, approval: { ...approval, approved_by: ['rita'] } } }],
      ['policy_snapshot', { ...approvedEnvelope, value: { ...value, approval: { ...approval, policy_snapshot: `sha256:${'7'.repeat(64)}` } } }],
      ['attempt', { ...base, value: { ...value, attempt: 3 } }],
      ['idempotency_key', { ...base, value: { ...value, idempotency_key: 'j1:guessed' }, headers: { ...base.headers, 'idempotency-key': 'j1:guessed' } }],
    ];
    for (const [field, envelope] of cases) {
      const v = await verify(envelope);
      expect(v, field).toMatchObject({ ok: false, code: 'grant_mismatch' });
      if (!v.ok) expect(v.detail, field).toMatch(new RegExp(`^${field}:`));
    }
  });

  it('refuses content changed under a genuine grant (the job hash covers it): job_hash_mismatch', async () => {
    const base = await signed();
    for (const tampered of [
      { ...value, payload: { q: 'drop table' } },
      { ...value, labels: { a: 'c' } },
      { ...value, submitted_by: 'mallory' },
      { ...value, priority: 'high' },
      { ...value, topic: 'knowledge.write' },
    ]) {
      expect(await verify({ ...base, value: tampered })).toMatchObject({ ok: false, code: 'job_hash_mismatch', job_id: 'j1' });
    }
    const { submitted_by: _s, ...anonymous } = value;
    expect(await verify({ ...base, value: anonymous })).toMatchObject({ ok: false, code: 'job_hash_mismatch' });
  });

  it('refuses invalid messages under a valid grant: not an object, unknown members, key or idempotency-key header disagreeing', async () => {
    const base = await signed();
    expect(await verify({ ...base, value: null })).toMatchObject({ ok: false, code: 'invalid_message', job_id: null });
    expect(await verify({ ...base, value: { ...value, approval_granted_by: 'me' } })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(await verify({ ...base, value: { ...value, attempt: 0 } })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(await verify({ ...base, key: 'j2' })).toMatchObject({ ok: false, code: 'invalid_message' });
    expect(await verify({ ...base, headers: { ...base.headers, 'idempotency-key': 'other' } })).toMatchObject({ ok: false, code: 'invalid_message' });
  });

  it('checks the signature before anything else: an invalid, tampered or unsigned body is refused for its grant first', async () => {
    expect(await verify({ value: null, headers: {}, key: 'j1' })).toMatchObject({ ok: false, code: 'unsigned' });
    expect(await verify({ value: { ...value, payload: 'x' }, headers: { ...headers, 'signoff-grant': await grant(claims, SigningKeySet.generate()) }, key: 'j1' })).toMatchObject({
      ok: false,
      code: 'unknown_key',
    });
  });
});
