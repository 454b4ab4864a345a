/**
 * Signed statements of the control plane: tree heads and decision receipts. Each is a JSON object
 * with a `statement` kind; the signature is a detached Ed25519 signature over the RFC 8785
 * canonical JSON of the object's fields plus `key_id`, by a key of the control plane's JWK Set
 * (`/.well-known/jwks.json`, `npm run cli -- keys jwks`). Verifying needs that public key only.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { canonicalBytes, hashFromHex } from './log-entry';

export const TREE_HEAD_STATEMENT = 'signoff.tree_head.v1';
export const RECEIPT_STATEMENT = 'signoff.receipt.v1';

/** `{tree_size, root_hash, timestamp}`: the log had `tree_size` entries with this root at `timestamp`. */
export interface TreeHead {
  readonly tree_size: number;
  /** Hex of MTH(D[0:tree_size]). */
  readonly root_hash: string;
  /** Milliseconds since the epoch (as RFC 6962's STH). */
  readonly timestamp: number;
}

/** A signature and the id of the key that made it. */
export interface Signature {
  readonly key_id: string;
  /** base64url of the 64-byte Ed25519 signature. */
  readonly signature: string;
}

export type SignedTreeHead = TreeHead & Signature;

/** The bytes a tree head's signature covers. */
export function treeHeadBytes(head: TreeHead, keyId: string): Uint8Array {
  return canonicalBytes({ statement: TREE_HEAD_STATEMENT, tree_size: head.tree_size, root_hash: head.root_hash, timestamp: head.timestamp, key_id: keyId });
}

/** The bytes a statement's signature covers: its fields plus `key_id`, canonical. */
export function statementBytes(statement: Readonly<Record<string, unknown>>, keyId: string): Uint8Array {
  return canonicalBytes({ ...statement, key_id: keyId });
}

/** A public JWK (the members a verifier needs). */
export interface PublicJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly kid?: string;
}

/** Public keys by key id, from a JWK Set (Ed25519 only; other keys are ignored). */
export function publicKeysOf(jwks: { readonly keys: readonly PublicJwk[] }): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const jwk of jwks.keys) {
    if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.kid !== 'string') continue;
    keys.set(jwk.kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' }));
  }
  return keys;
}

/** Why a signed statement does not verify. */
export type SignatureProblem = 'unknown_key' | 'bad_signature' | 'malformed';

/** Checks a detached signature over `bytes`; null when it verifies. */
export function checkSignature(bytes: Uint8Array, signed: Signature, keys: ReadonlyMap<string, KeyObject>): SignatureProblem | null {
  if (typeof signed.key_id !== 'string' || typeof signed.signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(signed.signature)) return 'malformed';
  const key = keys.get(signed.key_id);
  if (!key) return 'unknown_key';
  return verifySignature(null, bytes, key, Buffer.from(signed.signature, 'base64url')) ? null : 'bad_signature';
}

/** Checks a signed tree head: its shape and its signature; null when it verifies. */
export function checkTreeHead(head: SignedTreeHead, keys: ReadonlyMap<string, KeyObject>): SignatureProblem | null {
  if (!Number.isSafeInteger(head.tree_size) || head.tree_size < 0 || !Number.isSafeInteger(head.timestamp) || hashFromHex(head.root_hash) === null) {
    return 'malformed';
  }
  return checkSignature(treeHeadBytes(head, head.key_id), head, keys);
}
