import fs from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, JWK, JWTPayload, jwtVerify } from 'jose';
import { Jwk, Jwks, KeyConfigError, SIGNING_ALG } from './signing-key-set';

/**
 * Where a verifier finds the control plane's public keys: a JWK Set (an object), a file holding
 * one, or an `https://` URL serving one (e.g. the dispatch service's `/.well-known/jwks.json`;
 * plain `http://` only on the loopback interface).
 */
export type KeySetSource = Jwks | string;

/** Why a signed token is refused. A refusal is final: the same token will never verify. */
export type TokenRefusalCode = 'unknown_key' | 'bad_signature' | 'expired' | 'not_yet_valid';

/** The token is refused (see {@link TokenRefusalCode}). */
export class TokenRefusedError extends Error {
  override readonly name = 'TokenRefusedError';
  constructor(
    readonly code: TokenRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The keys could not be read right now (the JWKS URL is down, the file is unreadable): nothing is
 * known about the token. Transient: try again later; never treat it as a refusal.
 */
export class KeySetUnavailableError extends Error {
  override readonly name = 'KeySetUnavailableError';
}

/** A token whose signature, key and lifetime were verified. */
export interface VerifiedToken {
  readonly payload: JWTPayload;
  /** The id of the key that signed it. */
  readonly kid: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface VerifyOptions {
  /** The JOSE `typ` the token must carry (one key set signs several kinds of token). */
  readonly typ: string;
  /** The verifier's time (default: now). */
  readonly now?: Date;
  /** Allowed clock skew between signer and verifier, seconds (default 30). */
  readonly clockToleranceSec?: number;
}

export interface VerificationKeySetOptions {
  /**
   * File: how often the file is checked for a change (default 30 s; an unknown key id checks at
   * once). URL: how long a fetched set is used before it is fetched again (default 5 min; an
   * unknown key id fetches again after at most 5 s).
   */
  readonly refreshMs?: number;
}

type GetKey = ReturnType<typeof createLocalJWKSet>;

const localSet = (jwks: Jwks): GetKey => createLocalJWKSet({ keys: jwks.keys.map((k) => ({ ...k }) as JWK) });

const MAX_TOKEN_LENGTH = 16 * 1024;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Validates a key-set source given as text (an environment variable): inline JSON, an
 * `https://` URL (or `http://` on loopback), or a file path. Returns the problem, or null.
 */
export function keySetSourceProblem(raw: string): string | null {
  const text = raw.trim();
  if (text === '') return 'is empty';
  if (text.startsWith('{')) {
    try {
      checkPublicJwks(JSON.parse(text), 'the inline JWK Set');
      return null;
    } catch (error) {
      return error instanceof KeyConfigError ? error.message : 'is not valid JSON';
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return 'is not a valid URL';
    }
    if (url.protocol === 'https:') return null;
    if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return null;
    return 'must be an https:// URL (http:// only on the loopback interface)';
  }
  return fs.existsSync(text) ? null : `names no file (${text})`;
}

/** A JWK Set of Ed25519 public keys; private keys are refused (a verifier must never hold one). */
function checkPublicJwks(value: unknown, where: string): Jwks {
  const keys = value !== null && typeof value === 'object' ? (value as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw new KeyConfigError(`${where} is not a JWK Set ({"keys":[…]})`);
  for (const [i, key] of keys.entries()) {
    const k = key as Jwk | null;
    if (k === null || typeof k !== 'object' || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.x !== 'string') {
      throw new KeyConfigError(`${where}: key ${i + 1} is not an Ed25519 public JWK`);
    }
    if (k.d !== undefined) throw new KeyConfigError(`${where}: key ${i + 1} holds a private key ("d"); give verifiers only the public JWK Set`);
    if (typeof k.kid !== 'string' || k.kid === '') throw new KeyConfigError(`${where}: key ${i + 1} has no "kid"`);
  }
  return { keys: keys as Jwk[] };
}

/** A file's key set, re-read when the file changes. */
class FileKeys {
  private getKey: GetKey;
  private mtimeMs: number;
  private checkedAt: number;

  constructor(
    private readonly file: string,
    private readonly refreshMs: number,
  ) {
    const { set, mtimeMs } = this.read();
    this.getKey = localSet(set);
    this.mtimeMs = mtimeMs;
    this.checkedAt = Date.now();
  }

  private read(): { set: Jwks; mtimeMs: number } {
    let text: string;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
      text = fs.readFileSync(this.file, 'utf8');
    } catch (error) {
      throw new KeyConfigError(`cannot read the key set ${this.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KeyConfigError(`${this.file} is not JSON`);
    }
    return { set: checkPublicJwks(parsed, this.file), mtimeMs };
  }

  /** Re-reads the file if it changed; a broken file keeps the last good set (and says so). */
  private refresh(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < this.refreshMs) return;
    if (force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch (error) {
      throw new KeySetUnavailableError(`cannot read the key set ${this.file}: ${(error as Error).message}`);
    }
    if (mtimeMs === this.mtimeMs) return;
    try {
      const { set } = this.read();
      this.getKey = localSet(set);
      this.mtimeMs = mtimeMs;
    } catch (error) {
      throw new KeySetUnavailableError((error as Error).message);
    }
  }

  readonly resolve: GetKey = (async (header, token) => {
    this.refresh(false);
    try {
      return await this.getKey(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      this.refresh(true);
      return this.getKey(header, token);
    }
  }) as GetKey;
}

/**
 * The public keys a verifier trusts (every key of the set is accepted, so keys rotate without
 * downtime) and the one verification of the control plane's signed tokens: EdDSA only, a known
 * `kid`, the expected `typ`, `iat` and `exp` required and checked with a bounded clock skew.
 * Refusals throw {@link TokenRefusedError}; keys that cannot be read now throw
 * {@link KeySetUnavailableError}.
 */
export class VerificationKeySet {
  private constructor(
    private readonly getKey: GetKey,
    /** Where the keys come from (for logs; never a key). */
    readonly description: string,
  ) {}

  /**
   * Opens a key set: a JWK Set object, inline JSON, a file, or an https URL (cached and refreshed,
   * see {@link VerificationKeySetOptions}). A source that cannot be used throws KeyConfigError
   * (a configuration problem: fail at start).
   */
  static from(source: KeySetSource, options: VerificationKeySetOptions = {}): VerificationKeySet {
    if (typeof source !== 'string') return new VerificationKeySet(localSet(checkPublicJwks(source, 'the JWK Set')), 'JWK Set');
    const problem = keySetSourceProblem(source);
    if (problem) throw new KeyConfigError(`key set ${source.trim().startsWith('{') ? '(inline JSON)' : source} ${problem}`);
    const text = source.trim();
    if (text.startsWith('{')) return new VerificationKeySet(localSet(checkPublicJwks(JSON.parse(text), 'the inline JWK Set')), 'inline JWK Set');
    if (/^https?:\/\//i.test(text)) {
      const remote = createRemoteJWKSet(new URL(text), {
        cacheMaxAge: options.refreshMs ?? 5 * 60_000,
        cooldownDuration: 5_000,
        timeoutDuration: 5_000,
      });
      return new VerificationKeySet(remote as unknown as GetKey, text);
    }
    return new VerificationKeySet(new FileKeys(text, options.refreshMs ?? 30_000).resolve, text);
  }

  /** Verifies a compact JWS token (see the class comment) and returns its claims and key id. */
  async verify(token: string, options: VerifyOptions): Promise<VerifiedToken> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new TokenRefusedError('bad_signature', 'not a compact JWS');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRefusedError('bad_signature', 'the protected header is not valid');
    }
    if (header.alg !== SIGNING_ALG) throw new TokenRefusedError('bad_signature', `algorithm ${String(header.alg)} is not accepted (only ${SIGNING_ALG})`);
    if (typeof header.kid !== 'string' || header.kid === '') throw new TokenRefusedError('unknown_key', 'the token names no key id');
    const now = options.now ?? new Date();
    const tolerance = options.clockToleranceSec ?? 30;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.getKey, {
        algorithms: [SIGNING_ALG],
        typ: options.typ,
        currentDate: now,
        clockTolerance: tolerance,
        requiredClaims: ['iat', 'exp'],
      }));
    } catch (error) {
      throw classify(error, header.kid);
    }
    const iat = payload.iat!;
    const exp = payload.exp!;
    if (iat > now.getTime() / 1000 + tolerance) throw new TokenRefusedError('not_yet_valid', 'the token was issued in the future');
    return { payload, kid: header.kid, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
  }
}

function classify(error: unknown, kid: string): Error {
  if (error instanceof errors.JWKSNoMatchingKey) return new TokenRefusedError('unknown_key', `no trusted key has id ${kid}`);
  if (error instanceof errors.JWTExpired) return new TokenRefusedError('expired', 'the token has expired');
  if (
    error instanceof errors.JWSSignatureVerificationFailed ||
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JWTClaimValidationFailed ||
    error instanceof errors.JOSEAlgNotAllowed ||
    error instanceof errors.JOSENotSupported ||
    error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new TokenRefusedError('bad_signature', error.message);
  }
  if (error instanceof KeySetUnavailableError) return error;
  // Fetch failures, timeouts, a JWKS document that is not one: nothing is known about the token.
  return new KeySetUnavailableError(`the key set is unavailable: ${(error as Error).message}`);
}
