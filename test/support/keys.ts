import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DISPATCH_GRANT_TYP, DispatchGrantClaims, HEADERS } from '@signoff/contracts';
import { SigningKeySet } from '@signoff/keys';
import type { OutboundMessage } from '@signoff/messaging';
import { tokenFor, TEST_JWT_SECRET } from './app';

/** The control plane's test keys: the set, its private key file and its public JWKS file. */
export interface TestKeys {
  readonly keys: SigningKeySet;
  readonly privateFile: string;
  readonly jwksFile: string;
}

let shared: TestKeys | null = null;

/** One signing key set per test process, also written to files for the processes tests start. */
export function testKeys(): TestKeys {
  if (shared) return shared;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-test-keys-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const keys = SigningKeySet.generate();
  const privateFile = path.join(dir, 'signing-key.json');
  const jwksFile = path.join(dir, 'jwks.json');
  // The generated set's one key, as `npm run cli -- keys generate` writes it.
  const key = keys.keys[0];
  fs.writeFileSync(privateFile, JSON.stringify({ ...key.privateKey.export({ format: 'jwk' }), kid: key.kid, alg: 'EdDSA', use: 'sig' }), { mode: 0o600 });
  fs.writeFileSync(jwksFile, JSON.stringify(keys.publicJwks()));
  shared = { keys, privateFile, jwksFile };
  return shared;
}

/** A worker's credential signed by TEST_JWT_SECRET. */
export function testWorkerToken(sub = 'test-worker', extra: { tenants?: string[] } = {}): Promise<string> {
  return tokenFor(sub, ['worker'], extra);
}

/**
 * What a service or worker process needs to trust and be trusted (DESIGN section 12): the HS256
 * secret, the dispatcher's signing key, the workers' public key set and worker credential.
 */
export async function testTrustEnv(): Promise<Record<string, string>> {
  const { privateFile, jwksFile } = testKeys();
  return {
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    SIGNOFF_SIGNING_KEY_FILE: privateFile,
    SIGNOFF_GRANT_JWKS: jwksFile,
    SIGNOFF_WORKER_TOKEN: await testWorkerToken('demo-worker'),
  };
}

/**
 * A dispatch message with the grant a dispatcher would sign for it (tests that publish
 * dispatches by hand): the claims are read from the message itself.
 */
export async function withGrant(message: OutboundMessage, keys: SigningKeySet = testKeys().keys, now = new Date(), ttlMs = 3_600_000): Promise<OutboundMessage> {
  const v = message.value as Record<string, unknown> & { approval?: { approval_id: string; approved_by: string[]; policy_snapshot: string; job_hash: string } };
  const headers = message.headers ?? {};
  const claims: DispatchGrantClaims = {
    job_id: v.job_id as string,
    tenant: v.tenant as string,
    job_hash: (v.job_hash as string | undefined) ?? v.approval?.job_hash ?? headers[HEADERS.jobHash],
    policy_snapshot: (v.policy_snapshot as string | undefined) ?? v.approval?.policy_snapshot ?? `sha256:${'5'.repeat(64)}`,
    decision: v.approval ? 'approved' : 'allow',
    approval_id: v.approval?.approval_id ?? null,
    approved_by: v.approval?.approved_by ?? [],
    attempt: v.attempt as number,
    idempotency_key: v.idempotency_key as string,
  };
  const grant = await keys.sign({ ...claims }, { typ: DISPATCH_GRANT_TYP, issuedAt: now, expiresAt: new Date(now.getTime() + ttlMs) });
  return { ...message, headers: { ...headers, [HEADERS.grant]: grant } };
}
