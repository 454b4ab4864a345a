/**
 * @signoff/keys: the control plane's Ed25519 key set. The signer holds private keys (one current,
 * the others still published while they rotate out) and signs compact JWS tokens with a key id;
 * verifiers hold the public JWK Set (an object, a file or an https URL, cached and refreshed) and
 * accept any key of it. Used by the dispatch grants; meant for every other signature of the
 * control plane (tree heads, receipts), each under its own JOSE `typ`.
 */
export {
  SigningKeySet,
  generateSigningKey,
  jwkThumbprint,
  KeyConfigError,
  SIGNING_ALG,
  type Jwk,
  type Jwks,
  type SigningKey,
  type GeneratedKeyPair,
  type JwtSignOptions,
} from './signing-key-set';
export {
  VerificationKeySet,
  TokenRefusedError,
  KeySetUnavailableError,
  keySetSourceProblem,
  type KeySetSource,
  type TokenRefusalCode,
  type VerifiedToken,
  type VerifyOptions,
  type VerificationKeySetOptions,
} from './verification-key-set';
