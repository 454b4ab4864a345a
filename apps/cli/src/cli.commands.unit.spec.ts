import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DISPATCH_GRANT_TYP } from '@signoff/contracts';
import { SigningKeySet, VerificationKeySet } from '@signoff/keys';
import { JwtVerifier } from '@signoff/runtime';
import { Io, runCli } from './cli.commands';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function io(env: Record<string, string> = {}, cwd = ROOT): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env, cwd };
}

describe('operator CLI', () => {
  it('policy test runs every policy test under policies/ and passes', async () => {
    const t = io();
    expect(await runCli(['policy', 'test'], t)).toBe(0);
    expect(t.lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
  });

  it('policy validate prints errors as file:line:column and exits 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'version: v1\nrules:\n  - id: a\n    when: {topic: x}\n    decision: perhaps\n');
    const t = io({}, dir);
    expect(await runCli(['policy', 'validate', 'bad.yaml'], t)).toBe(1);
    expect(t.lines[0]).toMatch(/^bad\.yaml:5:\d+: \[unknown_decision\]/);
    const ok = io();
    expect(await runCli(['policy', 'validate', 'policies/default.yaml'], ok)).toBe(0);
  });

  it('policy diff names changed rules and test jobs whose decision changes', async () => {
    const t = io();
    expect(await runCli(['policy', 'diff', 'policies/default.yaml', 'policies/examples/quorum.yaml', '--tests', 'policies/default.test.yaml'], t)).toBe(0);
    expect(t.lines.join('\n')).toMatch(/rule/);
  });

  it('token mints a token the API verifies', async () => {
    const secret = 'k'.repeat(40);
    const t = io({ AUTH_JWT_SECRET: secret });
    expect(await runCli(['token', '--sub', 'rita', '--roles', 'reviewer', '--topics', 'finance.*'], t)).toBe(0);
    const p = await new JwtVerifier({ jwtSecret: secret, jwksUrl: null }).verify(t.lines[0]);
    expect(p.sub).toBe('rita');
    expect([...p.roles]).toEqual(['reviewer']);
    expect(await runCli(['token', '--sub', 'x', '--roles', 'wizard'], io({ AUTH_JWT_SECRET: secret }))).toBe(2);
  });

  it('token refuses a lifetime the API would refuse, and a subject with control characters', async () => {
    const secret = 'k'.repeat(40);
    const long = io({ AUTH_JWT_SECRET: secret });
    expect(await runCli(['token', '--sub', 'rita', '--roles', 'reviewer', '--ttl', String(25 * 3600)], long)).toBe(2);
    expect(long.errors.join('\n')).toMatch(/AUTH_JWT_MAX_TTL_SECONDS/);
    expect(await runCli(['token', '--sub', 'rita', '--roles', 'reviewer', '--ttl', '0'], io({ AUTH_JWT_SECRET: secret }))).toBe(2);
    expect(await runCli(['token', '--sub', 'ri\nta', '--roles', 'reviewer'], io({ AUTH_JWT_SECRET: secret }))).toBe(2);
    const raised = io({ AUTH_JWT_SECRET: secret, AUTH_JWT_MAX_TTL_SECONDS: String(48 * 3600), AUTH_JWT_ISSUER: 'idp', AUTH_JWT_AUDIENCE: 'signoff' });
    expect(await runCli(['token', '--sub', 'rita', '--roles', 'reviewer', '--ttl', String(36 * 3600)], raised)).toBe(0);
    const verifier = new JwtVerifier({ jwtSecret: secret, jwksUrl: null, maxTtlSeconds: 48 * 3600, issuer: 'idp', audience: 'signoff' });
    await expect(verifier.verify(raised.lines[0])).resolves.toMatchObject({ sub: 'rita' });
  });

  it('keys generate writes a signing key (mode 600) the dispatcher can load and a public JWKS a worker verifies with', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-keys-'));
    const t = io({}, dir);
    expect(await runCli(['keys', 'generate', '--out', 'keys'], t)).toBe(0);
    const privateFile = path.join(dir, 'keys', 'signing-key.json');
    expect(fs.statSync(privateFile).mode & 0o777).toBe(0o600);
    const jwks = JSON.parse(fs.readFileSync(path.join(dir, 'keys', 'jwks.json'), 'utf8')) as { keys: { kid: string; d?: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0].d).toBeUndefined();
    const signer = SigningKeySet.fromFile(privateFile);
    expect(t.lines[0]).toBe(`key id ${signer.currentKid}`);
    expect(jwks.keys[0].kid).toBe(signer.currentKid);
    const now = new Date();
    const token = await signer.sign({ x: 1 }, { typ: DISPATCH_GRANT_TYP, issuedAt: now, expiresAt: new Date(now.getTime() + 60_000) });
    expect((await VerificationKeySet.from(path.join(dir, 'keys', 'jwks.json')).verify(token, { typ: DISPATCH_GRANT_TYP })).kid).toBe(signer.currentKid);
    // Never overwrites a key by accident; `keys jwks` prints the public half of a key file.
    expect(await runCli(['keys', 'generate', '--out', 'keys'], io({}, dir))).toBe(1);
    const pub = io({}, dir);
    expect(await runCli(['keys', 'jwks', '--key', 'keys/signing-key.json'], pub)).toBe(0);
    expect(JSON.parse(pub.lines.join('\n'))).toEqual(jwks);
  });

  it('token mints worker credentials too', async () => {
    const secret = 'k'.repeat(40);
    const t = io({ AUTH_JWT_SECRET: secret });
    expect(await runCli(['token', '--sub', 'payments-worker', '--roles', 'worker'], t)).toBe(0);
    expect([...(await new JwtVerifier({ jwtSecret: secret, jwksUrl: null }).verify(t.lines[0])).roles]).toEqual(['worker']);
  });

  it('prints usage for unknown commands', async () => {
    const t = io();
    expect(await runCli(['frobnicate'], t)).toBe(2);
    expect(t.errors.join('\n')).toMatch(/policy validate/);
  });
});
