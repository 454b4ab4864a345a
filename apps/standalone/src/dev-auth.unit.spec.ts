import { describe, expect, it } from 'vitest';
import { JwtVerifier } from '@signoff/runtime';
import { DEV_TOKEN_TTL_SECONDS, devTokens } from './dev-auth';

const secret = 'd'.repeat(43);
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { iat?: number; exp?: number };

describe('standalone development tokens', () => {
  it('carry exp and iat, live 12 h, and pass the verifier under its default rules', async () => {
    const verifier = new JwtVerifier({ jwtSecret: secret, jwksUrl: null });
    for (const [role, token] of Object.entries(await devTokens(secret))) {
      const { iat, exp } = claimsOf(token);
      expect(typeof iat, role).toBe('number');
      expect(exp! - iat!).toBe(DEV_TOKEN_TTL_SECONDS);
      await expect(verifier.verify(token)).resolves.toMatchObject({ sub: expect.stringMatching(/^dev-/) });
    }
  });

  it('stay valid under a shorter AUTH_JWT_MAX_TTL_SECONDS and a required issuer and audience', async () => {
    const verifier = new JwtVerifier({ jwtSecret: secret, jwksUrl: null, maxTtlSeconds: 3600, issuer: 'signoff-dev', audience: 'signoff' });
    const tokens = await devTokens(secret, { maxTtlSeconds: 3600, issuer: 'signoff-dev', audience: 'signoff' });
    for (const token of Object.values(tokens)) {
      expect(claimsOf(token).exp! - claimsOf(token).iat!).toBe(3600);
      await expect(verifier.verify(token)).resolves.toBeDefined();
    }
  });
});
