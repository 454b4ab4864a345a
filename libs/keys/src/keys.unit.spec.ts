import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, type JWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, jwkThumbprint, KeyConfigError, SigningKeySet } from './signing-key-set';
import { KeySetUnavailableError, keySetSourceProblem, TokenRefusedError, VerificationKeySet } from './verification-key-set';

const TYP = 'test+jwt';
const NOW = new Date('2026-03-01T10:00:00Z');
const inAnHour = new Date(NOW.getTime() + 3_600_000);
const sign = (keys: SigningKeySet, claims: Record<string, unknown> = { a: 1 }, issuedAt = NOW, expiresAt = inAnHour, typ = TYP) =>
  keys.sign(claims, { typ, issuedAt, expiresAt });
const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (error) {
    if (error instanceof TokenRefusedError) return error.code;
    throw error;
  }
  throw new Error('verified');
};

describe('SigningKeySet and VerificationKeySet', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('signs with the current key and a verifier holding the public set accepts it, with the key id', async () => {
    const keys = SigningKeySet.generate();
    const verifier = VerificationKeySet.from(keys.publicJwks());
    const token = await sign(keys, { job: 'j1' });
    const verified = await verifier.verify(token, { typ: TYP, now: NOW });
    expect(verified).toMatchObject({ kid: keys.currentKid, payload: { job: 'j1' }, issuedAt: NOW, expiresAt: inAnHour });
    expect(keys.publicJwks().keys[0]).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: keys.currentKid, alg: 'EdDSA', use: 'sig' });
    expect(JSON.stringify(keys.publicJwks())).not.toContain('"d"');
  });

  it('signs the very bytes jose SignJWT produces, and jose verifies them with the published JWK Set', async () => {
    const keys = SigningKeySet.generate();
    const claimSets: Record<string, unknown>[] = [
      { job_id: 'j1', tenant: 'acme', approved_by: ['rita', 'sam'], attempt: 2, approval_id: null },
      { text: 'grüße, 日本, \u2028 "quoted" \\ </script>', nested: { a: [1, { b: true }] }, skipped: undefined },
      { iat: 1, exp: 2, first: 'iat and exp keep their place, with the given values replaced' },
      {},
    ];
    for (const claims of claimSets) {
      const options = { typ: TYP, issuedAt: new Date(NOW.getTime() + 999), expiresAt: inAnHour };
      const expected = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'EdDSA', kid: keys.currentKid, typ: TYP })
        .setIssuedAt(Math.floor(options.issuedAt.getTime() / 1000))
        .setExpirationTime(Math.floor(options.expiresAt.getTime() / 1000))
        .sign(keys.current.privateKey);
      const token = await keys.sign(claims, options);
      expect(token).toBe(expected);
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: [...keys.publicJwks().keys] as JWK[] }), {
        typ: TYP,
        currentDate: NOW,
      });
      expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: keys.currentKid, typ: TYP });
      expect(payload).toMatchObject({ iat: NOW.getTime() / 1000, exp: inAnHour.getTime() / 1000 });
    }
    await expect(keys.sign({}, { typ: TYP, issuedAt: new Date(NaN), expiresAt: inAnHour })).rejects.toThrow(TypeError);
  });

  it('refuses: another key with the same id (bad_signature), an unknown id, an expired or future token, another typ, garbage', async () => {
    const keys = SigningKeySet.generate();
    const verifier = VerificationKeySet.from(keys.publicJwks());
    const impostor = SigningKeySet.fromJwk({ ...generateSigningKey().privateJwk, kid: keys.currentKid });
    expect(await refusal(verifier.verify(await sign(impostor), { typ: TYP, now: NOW }))).toBe('bad_signature');
    expect(await refusal(verifier.verify(await sign(SigningKeySet.generate()), { typ: TYP, now: NOW }))).toBe('unknown_key');
    const expired = await sign(keys, {}, new Date(NOW.getTime() - 7_200_000), new Date(NOW.getTime() - 3_600_000));
    expect(await refusal(verifier.verify(expired, { typ: TYP, now: NOW }))).toBe('expired');
    const future = await sign(keys, {}, new Date(NOW.getTime() + 600_000), new Date(NOW.getTime() + 7_200_000));
    expect(await refusal(verifier.verify(future, { typ: TYP, now: NOW }))).toBe('not_yet_valid');
    expect(await refusal(verifier.verify(await sign(keys, {}, NOW, inAnHour, 'receipt+jwt'), { typ: TYP, now: NOW }))).toBe('bad_signature');
    const token = await sign(keys);
    const [h, p] = token.split('.');
    expect(await refusal(verifier.verify(`${h}.${p}.AAAA`, { typ: TYP, now: NOW }))).toBe('bad_signature');
    const tamperedPayload = Buffer.from(JSON.stringify({ a: 2, iat: NOW.getTime() / 1000, exp: inAnHour.getTime() / 1000 })).toString('base64url');
    expect(await refusal(verifier.verify(`${h}.${tamperedPayload}.${token.split('.')[2]}`, { typ: TYP, now: NOW }))).toBe('bad_signature');
    for (const garbage of ['', 'a.b', 'not a token', `${'x'.repeat(20_000)}.a.b`]) {
      expect(await refusal(verifier.verify(garbage, { typ: TYP, now: NOW }))).toBe('bad_signature');
    }
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: keys.currentKid, typ: TYP })).toString('base64url')}.${p}.sig`;
    expect(await refusal(verifier.verify(none, { typ: TYP, now: NOW }))).toBe('bad_signature');
  });

  it('rotates without downtime: a set of two publishes both, signs with the current one, and verifiers accept either', async () => {
    const oldKey = generateSigningKey();
    const newKey = generateSigningKey();
    const phase1 = SigningKeySet.fromJwk({ keys: [oldKey.privateJwk, newKey.privateJwk] });
    const phase2 = SigningKeySet.fromJwk({ keys: [oldKey.privateJwk, newKey.privateJwk] }, { currentKid: newKey.kid });
    expect(phase1.currentKid).toBe(oldKey.kid);
    expect(phase2.currentKid).toBe(newKey.kid);
    expect(phase2.publicJwks().keys.map((k) => k.kid)).toEqual([oldKey.kid, newKey.kid]);
    const verifier = VerificationKeySet.from(phase1.publicJwks());
    expect((await verifier.verify(await sign(phase1), { typ: TYP, now: NOW })).kid).toBe(oldKey.kid);
    expect((await verifier.verify(await sign(phase2), { typ: TYP, now: NOW })).kid).toBe(newKey.kid);
    expect(() => SigningKeySet.fromJwk({ keys: [oldKey.privateJwk] }, { currentKid: 'nope' })).toThrow(KeyConfigError);
    expect(() => SigningKeySet.fromJwk({ keys: [oldKey.privateJwk, oldKey.privateJwk] })).toThrow(/appears twice/);
  });

  it('reads a private JWK, a JWK Set or a PKCS#8 PEM from a file; refuses other keys, mismatched halves and private keys for verifiers', () => {
    const pair = generateSigningKey();
    const jwkFile = path.join(dir, 'key.json');
    fs.writeFileSync(jwkFile, JSON.stringify(pair.privateJwk));
    expect(SigningKeySet.fromFile(jwkFile).currentKid).toBe(pair.kid);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pemFile = path.join(dir, 'key.pem');
    fs.writeFileSync(pemFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    expect(SigningKeySet.fromFile(pemFile, 'pem-1').currentKid).toBe('pem-1');
    const thumb = SigningKeySet.fromFile(pemFile);
    expect(thumb.currentKid).toBe(jwkThumbprint(thumb.publicJwks().keys[0]));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    fs.writeFileSync(path.join(dir, 'rsa.pem'), rsa);
    expect(() => SigningKeySet.fromFile(path.join(dir, 'rsa.pem'))).toThrow(/Ed25519/);
    expect(() => SigningKeySet.fromFile(path.join(dir, 'missing.json'))).toThrow(/ENOENT/);
    expect(() => SigningKeySet.fromJwk({ ...pair.privateJwk, x: generateSigningKey().privateJwk.x })).toThrow(KeyConfigError);
    expect(() => VerificationKeySet.from({ keys: [pair.privateJwk] })).toThrow(/private key/);
    expect(() => VerificationKeySet.from({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: pair.privateJwk.x }] })).toThrow(/kid/);
  });

  it('loadOrCreate generates a key once (mode 600) and reads the same key afterwards', () => {
    const file = path.join(dir, 'data', 'signing-key.json');
    const first = SigningKeySet.loadOrCreate(file);
    const second = SigningKeySet.loadOrCreate(file);
    expect(first.generated).toBe(true);
    expect(second.generated).toBe(false);
    expect(second.keys.currentKid).toBe(first.keys.currentKid);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a file key set is re-read when the file changes: a key added later verifies without a restart', async () => {
    const a = SigningKeySet.generate();
    const b = SigningKeySet.generate();
    const file = path.join(dir, 'jwks.json');
    fs.writeFileSync(file, JSON.stringify(a.publicJwks()));
    const verifier = VerificationKeySet.from(file, { refreshMs: 60_000 });
    await verifier.verify(await sign(a), { typ: TYP, now: NOW });
    await new Promise((r) => setTimeout(r, 1100));
    fs.writeFileSync(file, JSON.stringify({ keys: [...a.publicJwks().keys, ...b.publicJwks().keys] }));
    // An unknown key id re-reads the file at once (not after refreshMs).
    expect((await verifier.verify(await sign(b), { typ: TYP, now: NOW })).kid).toBe(b.currentKid);
  });

  describe('from an http(s) URL', () => {
    const keys = SigningKeySet.generate();
    let server: http.Server;
    let url: string;
    let up = true;
    beforeAll(async () => {
      server = http.createServer((_req, res) => {
        if (!up) return void res.writeHead(503).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(keys.publicJwks()));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('verifies against the served set; a server that is down is KeySetUnavailableError (transient), not a refusal', async () => {
      const verifier = VerificationKeySet.from(url);
      expect((await verifier.verify(await sign(keys), { typ: TYP, now: NOW })).kid).toBe(keys.currentKid);
      up = false;
      const cold = VerificationKeySet.from(url);
      await expect(cold.verify(await sign(keys), { typ: TYP, now: NOW })).rejects.toBeInstanceOf(KeySetUnavailableError);
      up = true;
    });
  });

  it('validates sources given as text: https URLs, loopback http, files, inline JSON', () => {
    expect(keySetSourceProblem('https://signoff.example/.well-known/jwks.json')).toBeNull();
    expect(keySetSourceProblem('http://127.0.0.1:8083/.well-known/jwks.json')).toBeNull();
    expect(keySetSourceProblem('http://dispatch.internal/.well-known/jwks.json')).toMatch(/https/);
    expect(keySetSourceProblem('/no/such/file.json')).toMatch(/names no file/);
    expect(keySetSourceProblem(JSON.stringify(SigningKeySet.generate().publicJwks()))).toBeNull();
    expect(keySetSourceProblem('{"keys":[{"kty":"RSA"}]}')).toMatch(/Ed25519/);
  });
});
