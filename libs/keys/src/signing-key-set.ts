import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, sign as signBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A JSON Web Key as it is read from and written to files (RFC 7517). */
export interface Jwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly d?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly [member: string]: unknown;
}

/** A JSON Web Key Set (RFC 7517 section 5). */
export interface Jwks {
  readonly keys: readonly Jwk[];
}

/** The only signature algorithm: EdDSA over Ed25519 (RFC 8037). */
export const SIGNING_ALG = 'EdDSA';

/** A key the set can sign with: its id, the private key, its public JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** `{kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig'}`. */
  readonly publicJwk: Jwk;
}

/** A generated key pair as files keep it. */
export interface GeneratedKeyPair {
  readonly kid: string;
  /** The private JWK with `kid`, `alg`, `use`: the signer's file. */
  readonly privateJwk: Jwk;
  /** The public JWK Set of this one key: the verifiers' file. */
  readonly publicJwks: Jwks;
}

/** When a signed token was issued and until when it is valid. */
export interface JwtSignOptions {
  /** The JOSE `typ` of the token. */
  readonly typ: string;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

/** A JWT NumericDate: whole seconds since the epoch (RFC 7519 section 2). */
function numericDate(at: Date, name: string): number {
  const seconds = Math.floor(at.getTime() / 1000);
  if (!Number.isFinite(seconds)) throw new TypeError(`${name} must be a valid date`);
  return seconds;
}

/** The base64url (no padding) of a value's JSON in UTF-8: a JWS header or payload segment. */
function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A key file or value that cannot be used; the message says why (never the key itself). */
export class KeyConfigError extends Error {
  override readonly name = 'KeyConfigError';
}

/** RFC 7638 thumbprint of an Ed25519 public key: the default key id. */
export function jwkThumbprint(publicJwk: Jwk): string {
  const canonical = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

function publicJwkOf(privateKey: KeyObject, kid: string): Jwk {
  const { kty, crv, x } = createPublicKey(privateKey).export({ format: 'jwk' }) as Jwk;
  return { kty, crv, x, kid, alg: SIGNING_ALG, use: 'sig' };
}

function ed25519(key: KeyObject, where: string): KeyObject {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new KeyConfigError(`${where}: expected an Ed25519 private key, got ${key.asymmetricKeyType ?? 'unknown'} ${key.type}`);
  }
  return key;
}

function fromPrivateJwk(jwk: unknown, where: string): SigningKey {
  if (jwk === null || typeof jwk !== 'object') throw new KeyConfigError(`${where}: not a JWK`);
  const candidate = jwk as Jwk;
  if (candidate.kty !== 'OKP' || candidate.crv !== 'Ed25519' || typeof candidate.d !== 'string' || typeof candidate.x !== 'string') {
    throw new KeyConfigError(`${where}: expected an Ed25519 private JWK ({"kty":"OKP","crv":"Ed25519","d":…,"x":…})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: candidate.d, x: candidate.x }, format: 'jwk' });
  } catch (error) {
    throw new KeyConfigError(`${where}: the JWK is not a valid Ed25519 key (${(error as Error).message})`);
  }
  ed25519(privateKey, where);
  const publicOnly = publicJwkOf(privateKey, '');
  if (publicOnly.x !== candidate.x) throw new KeyConfigError(`${where}: "x" is not the public key of "d"`);
  const kid = typeof candidate.kid === 'string' && candidate.kid !== '' ? candidate.kid : jwkThumbprint(publicOnly);
  return { kid, privateKey, publicJwk: { ...publicOnly, kid } };
}

/**
 * The control plane's signing keys (Ed25519, EdDSA JWS). One key is current and signs; every key
 * of the set is published ({@link publicJwks}) so verifiers accept what any of them signed. That
 * is how keys rotate without downtime:
 * 1. add the new key to the set, keep the old one current: verifiers learn the new public key;
 * 2. make the new key current (`SIGNOFF_SIGNING_KEY_ID`, or put it first): new signatures use it,
 *    signatures of the old key in flight still verify;
 * 3. once nothing signed by the old key can still be read (the longest grant lifetime, the
 *    longest backlog on the topic), remove it.
 * Used for dispatch grants; meant for any other signature of the control plane (tree heads,
 * receipts) under its own JOSE `typ`.
 */
export class SigningKeySet {
  private constructor(
    readonly keys: readonly SigningKey[],
    readonly current: SigningKey,
  ) {}

  /** The id of the key that signs. */
  get currentKid(): string {
    return this.current.kid;
  }

  /**
   * From a private JWK or a JWK Set of private keys (parsed JSON). `currentKid` picks the signing
   * key of a set (default: its first key).
   */
  static fromJwk(value: unknown, options: { currentKid?: string | null; where?: string } = {}): SigningKeySet {
    const where = options.where ?? 'signing key';
    const members =
      value !== null && typeof value === 'object' && Array.isArray((value as { keys?: unknown }).keys)
        ? ((value as { keys: unknown[] }).keys)
        : [value];
    if (members.length === 0) throw new KeyConfigError(`${where}: the JWK Set holds no key`);
    const keys = members.map((m, i) => fromPrivateJwk(m, members.length > 1 ? `${where} (key ${i + 1})` : where));
    return SigningKeySet.of(keys, options.currentKid ?? null, where);
  }

  /** From a PKCS#8 PEM private key; `kid` defaults to the key's RFC 7638 thumbprint. */
  static fromPem(pem: string, kid?: string | null, where = 'signing key'): SigningKeySet {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (error) {
      throw new KeyConfigError(`${where}: not a PKCS#8 PEM private key (${(error as Error).message})`);
    }
    ed25519(key, where);
    const id = kid ?? jwkThumbprint(publicJwkOf(key, ''));
    const signingKey: SigningKey = { kid: id, privateKey: key, publicJwk: publicJwkOf(key, id) };
    return new SigningKeySet([signingKey], signingKey);
  }

  /**
   * From a file: a private JWK (with `kid`), a JWK Set of private keys, or a PKCS#8 PEM. `kid`
   * names the PEM's key id, or picks the current key of a set.
   */
  static fromFile(file: string, kid?: string | null): SigningKeySet {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new KeyConfigError(`cannot read the signing key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (text.includes('-----BEGIN')) return SigningKeySet.fromPem(text, kid, file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KeyConfigError(`${file}: neither JSON (a JWK or JWK Set) nor a PEM private key`);
    }
    return SigningKeySet.fromJwk(parsed, { currentKid: kid ?? null, where: file });
  }

  /** A fresh set of one new key (tests, and the standalone's first start). */
  static generate(): SigningKeySet {
    return SigningKeySet.fromJwk(generateSigningKey().privateJwk);
  }

  /**
   * The standalone's key: read from `file` when it exists, otherwise generated and written there
   * once (mode 600), like its auth secret.
   */
  static loadOrCreate(file: string): { keys: SigningKeySet; generated: boolean } {
    if (fs.existsSync(file)) return { keys: SigningKeySet.fromFile(file), generated: false };
    const pair = generateSigningKey();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(pair.privateJwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    return { keys: SigningKeySet.fromFile(file), generated: true };
  }

  private static of(keys: SigningKey[], currentKid: string | null, where: string): SigningKeySet {
    const ids = new Set<string>();
    for (const k of keys) {
      if (ids.has(k.kid)) throw new KeyConfigError(`${where}: key id ${k.kid} appears twice`);
      ids.add(k.kid);
    }
    const current = currentKid === null ? keys[0] : keys.find((k) => k.kid === currentKid);
    if (!current) throw new KeyConfigError(`${where}: no key with id ${currentKid} (ids: ${[...ids].join(', ')})`);
    return new SigningKeySet(keys, current);
  }

  /** The public keys of every key of the set: what `GET /.well-known/jwks.json` serves. */
  publicJwks(): Jwks {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /**
   * Signs claims as a compact JWS (a JWT) with the current key: protected header
   * `{alg: 'EdDSA', kid, typ}`, claims plus `iat` and `exp` (seconds). The bytes jose's `SignJWT`
   * produces for the same header and claims (`base64url(JSON(header)) . base64url(JSON({...claims,
   * iat, exp}))`, Ed25519 being deterministic), signed by Node's `crypto.sign` with a callback,
   * which runs the signature on libuv's thread pool as WebCrypto does, without jose's promise
   * chain, key checks and encoding (a dispatcher signs every dispatch; the synchronous form would
   * put the whole signature on the event loop).
   */
  sign(claims: Readonly<Record<string, unknown>>, options: JwtSignOptions): Promise<string> {
    return new Promise((resolve, reject) => {
      const header = base64urlJson({ alg: SIGNING_ALG, kid: this.current.kid, typ: options.typ });
      const payload = base64urlJson({ ...claims, iat: numericDate(options.issuedAt, 'issuedAt'), exp: numericDate(options.expiresAt, 'expiresAt') });
      const input = `${header}.${payload}`;
      signBytes(null, Buffer.from(input, 'ascii'), this.current.privateKey, (error, signature) => {
        if (error) reject(error);
        else resolve(`${input}.${signature.toString('base64url')}`);
      });
    });
  }

  /**
   * A detached Ed25519 signature over `bytes` with the current key (tree heads and receipts sign
   * the canonical JSON of a statement that names its own kind): base64url, with the key id.
   */
  signDetached(bytes: Uint8Array): { readonly key_id: string; readonly signature: string } {
    return { key_id: this.current.kid, signature: signBytes(null, bytes, this.current.privateKey).toString('base64url') };
  }
}

/** A new Ed25519 key pair, `kid` = its RFC 7638 thumbprint (`npm run cli -- keys generate`). */
export function generateSigningKey(): GeneratedKeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const kid = jwkThumbprint(publicJwkOf(privateKey, ''));
  const { kty, crv, x, d } = privateKey.export({ format: 'jwk' }) as Jwk;
  const publicJwk = publicJwkOf(privateKey, kid);
  return { kid, privateJwk: { kty, crv, x, d, kid, alg: SIGNING_ALG, use: 'sig' }, publicJwks: { keys: [publicJwk] } };
}
