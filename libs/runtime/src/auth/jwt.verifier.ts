import { isSafeIdentity, SignoffError } from '@signoff/contracts';
import { createRemoteJWKSet, JWTPayload, jwtVerify, JWTVerifyOptions, SignJWT } from 'jose';
import { DEFAULT_AUTH_JWT_MAX_TTL_SECONDS, type SignoffConfig } from '../config';
import { Principal, Role, ROLES } from './principal';

export interface AuthOptions {
  readonly jwtSecret: string | null;
  readonly jwksUrl: string | null;
  /** Longest accepted lifetime in seconds: exp - iat, or exp - now without iat (default 24 h). */
  readonly maxTtlSeconds?: number;
  /** When set, `iss` must equal it. */
  readonly issuer?: string | null;
  /** When set, `aud` must hold it. */
  readonly audience?: string | null;
}

/** The authentication options of a service's configuration (AUTH_JWT_* and AUTH_JWKS_URL). */
export function authOptionsFrom(config: SignoffConfig, overrides: Partial<AuthOptions> = {}): AuthOptions {
  return {
    jwtSecret: config.authJwtSecret,
    jwksUrl: config.authJwksUrl,
    maxTtlSeconds: config.authJwtMaxTtlSeconds,
    issuer: config.authJwtIssuer,
    audience: config.authJwtAudience,
    ...overrides,
  };
}

/** How far the issuer's clock may be from ours, for `exp`, `nbf` and `iat` (seconds). */
export const AUTH_CLOCK_SKEW_SECONDS = 5;

/**
 * jose errors that are a verdict on the token itself (bad signature, claims, algorithm, no key of
 * the set matches its `kid`). Anything else raised while verifying against a JWKS URL (the key set
 * could not be fetched, timed out, or was not a key set) says nothing about the token.
 */
const TOKEN_VERDICTS: ReadonlySet<string> = new Set([
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

/**
 * The identity provider's key set cannot be read now: 503 `auth_unavailable` (retry), never a 401
 * that would tell a genuine caller its token is bad, and on Kafka a transient failure that is
 * retried rather than a dead letter.
 */
function keysUnavailable(cause: unknown): SignoffError {
  const error = new SignoffError('auth_unavailable', 'the token cannot be verified now: the key set (AUTH_JWKS_URL) is unreachable; retry shortly', {}, { 'Retry-After': '5' });
  (error as { cause?: unknown }).cause = cause;
  return error;
}

/** The one answer to every bad token: which check failed is not revealed. */
function invalidToken(): SignoffError {
  return new SignoffError('unauthenticated', 'invalid or expired token', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

/**
 * Verifies bearer tokens: HS256 with a shared secret, or any JWKS-published key. A token must
 * carry `exp`; its lifetime (exp - iat, or exp - now without `iat`) is at most `maxTtlSeconds`; an
 * `iat` in the future (beyond AUTH_CLOCK_SKEW_SECONDS) is refused; `iss`/`aud` are checked when
 * configured; `sub` must be a safe identity (`isSafeIdentity`: no control, bidi or lone surrogate
 * characters, which would reach event metadata and CloudEvents attributes). Every failure is the
 * same 401 `unauthenticated` (no oracle for which part was wrong); a JWKS that cannot be fetched is
 * 503 `auth_unavailable`, because it says nothing about the token.
 */
export class JwtVerifier {
  private readonly key: Uint8Array | ReturnType<typeof createRemoteJWKSet>;
  private readonly maxTtlSeconds: number;
  private readonly verifyOptions: JWTVerifyOptions;

  constructor(options: AuthOptions) {
    if (options.jwksUrl) this.key = createRemoteJWKSet(new URL(options.jwksUrl));
    else if (options.jwtSecret) this.key = new TextEncoder().encode(options.jwtSecret);
    else throw new Error('authentication needs AUTH_JWT_SECRET or AUTH_JWKS_URL');
    this.maxTtlSeconds = options.maxTtlSeconds ?? DEFAULT_AUTH_JWT_MAX_TTL_SECONDS;
    this.verifyOptions = {
      clockTolerance: AUTH_CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp'],
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
      ...(this.key instanceof Uint8Array ? { algorithms: ['HS256'] } : {}),
    };
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
      const result = this.key instanceof Uint8Array ? await jwtVerify(token, this.key, this.verifyOptions) : await jwtVerify(token, this.key, this.verifyOptions);
      payload = result.payload;
    } catch (error) {
      if (!(this.key instanceof Uint8Array) && !TOKEN_VERDICTS.has((error as { code?: unknown })?.code as string)) throw keysUnavailable(error);
      throw invalidToken();
    }
    if (!this.lifetimeAcceptable(payload, Date.now() / 1000)) throw invalidToken();
    const principal = toPrincipal(payload);
    if (principal === null) throw invalidToken();
    return principal;
  }

  /**
   * jose has checked that `exp` is present and not past, and that `iat`, when present, is a number.
   * A token without a bounded lifetime, or issued in the future, would be accepted for good.
   */
  private lifetimeAcceptable(payload: JWTPayload, now: number): boolean {
    const exp = payload.exp!;
    if (payload.iat === undefined) return exp - now <= this.maxTtlSeconds + AUTH_CLOCK_SKEW_SECONDS;
    if (payload.iat > now + AUTH_CLOCK_SKEW_SECONDS) return false;
    return exp - payload.iat <= this.maxTtlSeconds;
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

const MALFORMED = Symbol('malformed');

function stringList(value: unknown): string[] | null | typeof MALFORMED {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  if (typeof value === 'string') return [value];
  return MALFORMED;
}

/** The principal of verified claims, or null when they are malformed (no or unsafe `sub`, bad lists). */
function toPrincipal(payload: JWTPayload): Principal | null {
  if (!isSafeIdentity(payload.sub)) return null;
  const claimedRoles = stringList(payload.roles);
  const topics = stringList(payload.topics);
  const tenants = stringList(payload.tenants);
  if (claimedRoles === MALFORMED || topics === MALFORMED || tenants === MALFORMED) return null;
  const roles = (claimedRoles ?? []).filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  // The instant this verifier stops accepting the token (its clock tolerance included).
  const expiresAtMs = typeof payload.exp === 'number' ? (payload.exp + AUTH_CLOCK_SKEW_SECONDS) * 1000 : undefined;
  return { sub: payload.sub, roles: new Set(roles), claimedRoles: claimedRoles ?? [], topics, tenants, ...(expiresAtMs === undefined ? {} : { expiresAtMs }) };
}

/**
 * Mints an HS256 token (development tokens, the CLI, tests) with `iat` now and `exp` after
 * `ttlSeconds` (12 h; the verifier accepts at most AUTH_JWT_MAX_TTL_SECONDS, 24 h by default).
 * `issuer` / `audience` set `iss` / `aud` for deployments that require them.
 */
export async function mintToken(
  secret: string,
  claims: { sub: string; roles: readonly Role[]; topics?: readonly string[]; tenants?: readonly string[]; issuer?: string | null; audience?: string | null },
  ttlSeconds = 12 * 3600,
): Promise<string> {
  const jwt = new SignJWT({ roles: [...claims.roles], ...(claims.topics ? { topics: [...claims.topics] } : {}), ...(claims.tenants ? { tenants: [...claims.tenants] } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
