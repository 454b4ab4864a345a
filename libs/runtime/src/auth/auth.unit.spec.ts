import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { SignoffError } from '@signoff/contracts';
import { AUTH_CLOCK_SKEW_SECONDS, JwtVerifier, mintToken } from './jwt.verifier';
import { canDecideTopic, canSeeTenant } from './principal';

const secret = 's'.repeat(40);

describe('JwtVerifier', () => {
  const verifier = new JwtVerifier({ jwtSecret: secret, jwksUrl: null });

  it('accepts a valid HS256 token and reads the DESIGN §4 claims', async () => {
    const token = await mintToken(secret, { sub: 'alice', roles: ['reviewer', 'bogus' as never], topics: ['finance.*'], tenants: ['acme'] });
    const p = await verifier.verifyHeader(`Bearer ${token}`);
    expect(p.sub).toBe('alice');
    expect([...p.roles]).toEqual(['reviewer']);
    expect(canDecideTopic(p, 'finance.payment.execute')).toBe(true);
    expect(canDecideTopic(p, 'customer.notify')).toBe(false);
    expect(canSeeTenant(p, 'acme')).toBe(true);
    expect(canSeeTenant(p, 'globex')).toBe(false);
  });

  it.each([
    ['no header', undefined],
    ['not bearer', 'Basic abc'],
    ['garbage', 'Bearer not.a.jwt'],
  ])('answers 401 unauthenticated for %s', async (_, header) => {
    const error = await verifier.verifyHeader(header).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignoffError);
    expect((error as SignoffError).code).toBe('unauthenticated');
  });

  it('refuses a token signed with another secret or expired', async () => {
    const other = await mintToken('o'.repeat(40), { sub: 'mallory', roles: ['admin'] });
    await expect(verifier.verify(other)).rejects.toMatchObject({ code: 'unauthenticated' });
    const expired = await mintToken(secret, { sub: 'bob', roles: ['admin'] }, -60);
    await expect(verifier.verify(expired)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('defaults to all topics and all tenants when the claims are absent', async () => {
    const p = await verifier.verify(await mintToken(secret, { sub: 'root', roles: ['admin'] }));
    expect(canSeeTenant(p, 'anything')).toBe(true);
    expect(canDecideTopic(p, 'any.topic')).toBe(true);
  });
});

/** A token with exactly these claims (no defaults): what a careless or hostile issuer signs. */
async function signRaw(key: string, claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(key));
}

describe('JwtVerifier token rules', () => {
  const verifier = new JwtVerifier({ jwtSecret: secret, jwksUrl: null });
  const now = () => Math.floor(Date.now() / 1000);
  const refusal = (token: string, v = verifier) => v.verify(token).then(() => null, (e: unknown) => e as SignoffError);
  const hour = 3600;

  it('refuses a token without exp (it would be valid forever)', async () => {
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'] }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], iat: now() }))).toMatchObject({ code: 'unauthenticated' });
  });

  it('refuses an iat in the future beyond the clock skew, accepts one within it', async () => {
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], iat: now() + 3600, exp: now() + 7200 }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], iat: now() + AUTH_CLOCK_SKEW_SECONDS + 30, exp: now() + 3600 }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'ok', roles: ['admin'], iat: now() + 2, exp: now() + 3600 }))).toBeNull();
  });

  it('bounds the lifetime: exp - iat, or exp - now without iat, at most AUTH_JWT_MAX_TTL_SECONDS (24 h by default)', async () => {
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], iat: now(), exp: now() + 25 * hour }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], iat: now() - 10 * 365 * 24 * hour, exp: now() + hour }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'eve', roles: ['admin'], exp: now() + 25 * hour }))).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { sub: 'ok', roles: ['admin'], iat: now(), exp: now() + 24 * hour }))).toBeNull();
    expect(await refusal(await signRaw(secret, { sub: 'ok', roles: ['admin'], exp: now() + 23 * hour }))).toBeNull();
    const strict = new JwtVerifier({ jwtSecret: secret, jwksUrl: null, maxTtlSeconds: 600 });
    expect(await refusal(await mintToken(secret, { sub: 'dev', roles: ['admin'] }), strict)).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await mintToken(secret, { sub: 'dev', roles: ['admin'] }, 600), strict)).toBeNull();
    const lenient = new JwtVerifier({ jwtSecret: secret, jwksUrl: null, maxTtlSeconds: 48 * hour });
    expect(await refusal(await signRaw(secret, { sub: 'ok', roles: ['admin'], iat: now(), exp: now() + 36 * hour }), lenient)).toBeNull();
  });

  it('checks iss and aud when configured', async () => {
    const v = new JwtVerifier({ jwtSecret: secret, jwksUrl: null, issuer: 'https://idp.acme', audience: 'signoff' });
    const base = { sub: 'ann', roles: ['admin'], iat: now(), exp: now() + hour };
    expect(await refusal(await signRaw(secret, { ...base, iss: 'https://idp.acme', aud: 'signoff' }), v)).toBeNull();
    expect(await refusal(await signRaw(secret, { ...base, iss: 'https://idp.acme', aud: ['other', 'signoff'] }), v)).toBeNull();
    expect(await refusal(await signRaw(secret, base), v)).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { ...base, iss: 'https://evil', aud: 'signoff' }), v)).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await signRaw(secret, { ...base, iss: 'https://idp.acme', aud: 'other' }), v)).toMatchObject({ code: 'unauthenticated' });
    expect(await refusal(await mintToken(secret, { sub: 'dev', roles: ['admin'], issuer: 'https://idp.acme', audience: 'signoff' }), v)).toBeNull();
  });

  it('refuses a subject holding control, line separator, bidi or lone surrogate characters', async () => {
    for (const sub of ['mallory\nactor: admin', 'shift\u000fin', 'nul\u0000', 'c1\u009b', 'rlo\u202eevil', 'iso\u2066x', 'ls\u2028', '\ud800', '']) {
      const token = await signRaw(secret, { sub, roles: ['reviewer'], iat: now(), exp: now() + hour });
      expect(await refusal(token), JSON.stringify(sub)).toMatchObject({ code: 'unauthenticated' });
    }
    expect(await refusal(await mintToken(secret, { sub: 'Jürgen Groß', roles: ['reviewer'] }))).toBeNull();
  });

  it('answers every failure alike: the same code, message and WWW-Authenticate (no oracle)', async () => {
    const tokens = [
      await signRaw(secret, { sub: 'a', roles: ['admin'] }),
      await signRaw(secret, { sub: 'a', roles: ['admin'], iat: now() + 3600, exp: now() + 7200 }),
      await signRaw(secret, { sub: 'a', roles: ['admin'], iat: now(), exp: now() + 90 * hour }),
      await signRaw(secret, { sub: 'a\n', roles: ['admin'], iat: now(), exp: now() + hour }),
      await signRaw(secret, { roles: ['admin'], iat: now(), exp: now() + hour }),
      await signRaw(secret, { sub: 'a', roles: [1], iat: now(), exp: now() + hour }),
      await mintToken('o'.repeat(40), { sub: 'a', roles: ['admin'] }),
      await mintToken(secret, { sub: 'a', roles: ['admin'] }, -60),
    ];
    const answers = await Promise.all(tokens.map(async (t) => JSON.stringify(await refusal(t).then((e) => [e?.code, e?.message, e?.headers]))));
    expect(new Set(answers).size).toBe(1);
  });
});

