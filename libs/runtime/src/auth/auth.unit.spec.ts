import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { JwtVerifier, mintToken } from './jwt.verifier';
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
