import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { JwtVerifier } from './jwt.verifier';

/**
 * JWKS verification against a real HTTP key server on loopback: a token the key set does not
 * vouch for is 401 `unauthenticated`; a key set that cannot be fetched says nothing about the
 * token and is 503 `auth_unavailable`, so the Kafka consumers retry a genuine producer's message
 * instead of dead-lettering it while the identity provider is down.
 */
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('JwtVerifier with AUTH_JWKS_URL', () => {
  let server: http.Server;
  let url: string;
  let mode: 'ok' | 'error' | 'garbage' = 'ok';
  let jwks: unknown;
  let privateKey: PrivateKey;
  let strangerKey: PrivateKey;

  const sign = (key: PrivateKey, kid: string) =>
    new SignJWT({ roles: ['submitter'] })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setSubject('agent-7')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    privateKey = pair.privateKey;
    strangerKey = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
    jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'idp-1', alg: 'EdDSA', use: 'sig' }] };
    server = http.createServer((_, res) => {
      if (mode === 'error') res.writeHead(500).end('down');
      else if (mode === 'garbage') res.writeHead(200, { 'content-type': 'application/json' }).end('not json');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const failure = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error as SignoffError);

  it('accepts a token of a published key and refuses one of an unknown key with 401', async () => {
    mode = 'ok';
    const verifier = new JwtVerifier({ jwtSecret: null, jwksUrl: url });
    await expect(verifier.verify(await sign(privateKey, 'idp-1'))).resolves.toMatchObject({ sub: 'agent-7' });
    expect(await failure(verifier.verify(await sign(strangerKey, 'idp-1')))).toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(await failure(verifier.verify(await sign(strangerKey, 'someone-else')))).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it.each([
    ['answers 500', 'error'],
    ['answers something that is not a key set', 'garbage'],
  ] as const)('is 503 auth_unavailable with Retry-After when the key server %s', async (_, how) => {
    mode = how;
    const verifier = new JwtVerifier({ jwtSecret: null, jwksUrl: url });
    const error = await failure(verifier.verify(await sign(privateKey, 'idp-1')));
    expect(error).toBeInstanceOf(SignoffError);
    expect(error).toMatchObject({ code: 'auth_unavailable', status: 503 });
    expect(error!.headers['Retry-After']).toBeDefined();
  });

  it('is 503 auth_unavailable when nothing listens at the key set URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const verifier = new JwtVerifier({ jwtSecret: null, jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
    expect(await failure(verifier.verify(await sign(privateKey, 'idp-1')))).toMatchObject({ code: 'auth_unavailable', status: 503 });
  });

  it('a malformed token is 401 whatever the key server does', async () => {
    mode = 'error';
    const verifier = new JwtVerifier({ jwtSecret: null, jwksUrl: url });
    expect(await failure(verifier.verify('not.a.jwt'))).toMatchObject({ code: 'unauthenticated' });
  });
});
