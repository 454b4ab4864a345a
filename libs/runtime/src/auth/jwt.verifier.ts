import { SignoffError } from '@signoff/contracts';
import { createRemoteJWKSet, JWTPayload, jwtVerify, SignJWT } from 'jose';
import { Principal, Role, ROLES } from './principal';

export interface AuthOptions {
  readonly jwtSecret: string | null;
  readonly jwksUrl: string | null;
}

/**
 * Verifies bearer tokens: HS256 with a shared secret, or any JWKS-published key. Every failure is
 * the same 401 `unauthenticated` (no oracle for which part was wrong).
 */
export class JwtVerifier {
  private readonly key: Uint8Array | ReturnType<typeof createRemoteJWKSet>;

  constructor(options: AuthOptions) {
    if (options.jwksUrl) this.key = createRemoteJWKSet(new URL(options.jwksUrl));
    else if (options.jwtSecret) this.key = new TextEncoder().encode(options.jwtSecret);
    else throw new Error('authentication needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
  }

  /** Verifies `Authorization: Bearer <JWT>` and returns the principal. */
  async verifyHeader(header: string | undefined): Promise<Principal> {
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new SignoffError('unauthenticated', 'missing bearer token', {}, { 'WWW-Authenticate': 'Bearer' });
    return this.verify(match[1]);
  }

  async verify(token: string): Promise<Principal> {
    const cached = this.verified.get(token);
    if (cached && cached.until > Date.now()) return cached.principal;
    const principal = await this.verifyUncached(token);
    this.remember(token, principal);
    return principal;
  }

  /**
   * Verification is a pure function of the token, the key and the time, and a client sends the
   * same token with every call: a verified token is remembered (by its exact text) until it
   * expires, at most 60 s, so JWKS key rotation takes effect within a minute. Bounded in size.
   */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  private remember(token: string, principal: Principal): void {
    const exp = decodeExpiry(token);
    const until = Math.min(Date.now() + VERIFIED_TOKEN_TTL_MS, exp === null ? 0 : exp * 1000);
    if (until <= Date.now()) return;
    if (this.verified.size >= VERIFIED_TOKEN_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { principal, until });
  }

  private async verifyUncached(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const result =
        this.key instanceof Uint8Array
          ? await jwtVerify(token, this.key, { algorithms: ['HS256'], clockTolerance: 5 })
          : await jwtVerify(token, this.key, { clockTolerance: 5 });
      payload = result.payload;
    } catch {
      throw new SignoffError('unauthenticated', 'invalid or expired token', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    return toPrincipal(payload);
  }
}

const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

/** `exp` (seconds) of a token that was just verified, or null when it has none. */
function decodeExpiry(token: string): number | null {
  try {
    const exp: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

function stringList(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (typeof value === 'string') return [value];
  throw new SignoffError('unauthenticated', 'malformed token claims');
}

function toPrincipal(payload: JWTPayload): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new SignoffError('unauthenticated', 'token has no subject');
  const claimedRoles = stringList(payload.roles) ?? [];
  const roles = claimedRoles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  return {
    sub: payload.sub,
    roles: new Set(roles),
    claimedRoles,
    topics: stringList(payload.topics),
    tenants: stringList(payload.tenants),
  };
}

/** Mints an HS256 token (development tokens, the CLI, tests). */
export async function mintToken(
  secret: string,
  claims: { sub: string; roles: readonly Role[]; topics?: readonly string[]; tenants?: readonly string[] },
  ttlSeconds = 12 * 3600,
): Promise<string> {
  return new SignJWT({ roles: [...claims.roles], ...(claims.topics ? { topics: [...claims.topics] } : {}), ...(claims.tenants ? { tenants: [...claims.tenants] } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}
