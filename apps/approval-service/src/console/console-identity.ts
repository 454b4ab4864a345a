import { Injectable } from '@nestjs/common';
import { JwtVerifier, Principal } from '@signoff/runtime';

/** A signed-in console session: what the cookie keeps, who it is, until when. */
export interface ConsoleSignIn {
  /** The cookie's value; given back to `principalOf` on every request. */
  readonly credential: string;
  readonly principal: Principal;
  /** When the session ends (the credential's expiry). */
  readonly expiresAt: Date;
}

/**
 * The OIDC-ready seam of the console's sign-in. Today: a pasted API token
 * ({@link PastedTokenIdentityProvider}). An OIDC authorization-code flow would implement the same
 * two steps: `signIn` would take the callback's `code` (the sign-in page would redirect to the
 * provider instead of showing a form) and exchange it for an ID/access token; `principalOf` would
 * verify that token (JWKS, AUTH_JWKS_URL) on every request. Pages, CSRF and the cookie stay as
 * they are: they only see a credential and a Principal with the API's roles, tenants and topics.
 */
export abstract class ConsoleIdentityProvider {
  /** Turns what the sign-in form posted into a session; throws `unauthenticated` (401) when it is not one. */
  abstract signIn(form: Readonly<Record<string, string>>): Promise<ConsoleSignIn>;
  /** The principal of a session's credential, verified again (expired or revoked: `unauthenticated`). */
  abstract principalOf(credential: string): Promise<Principal>;
}

/** The longest token the sign-in form takes. */
export const MAX_PASTED_TOKEN = 8192;

/**
 * Sign-in by pasting a JWT (the development tokens `npm start` prints, or any token of the
 * configured issuer): verified by the API's own JwtVerifier, so roles, tenants and topics hold
 * exactly as on the API. The cookie keeps the token and it is verified again on every request.
 */
@Injectable()
export class PastedTokenIdentityProvider extends ConsoleIdentityProvider {
  constructor(private readonly verifier: JwtVerifier) {
    super();
  }

  async signIn(form: Readonly<Record<string, string>>): Promise<ConsoleSignIn> {
    const token = (form.token ?? '').trim().replace(/^Bearer\s+/i, '');
    // Malformed input gets the verifier's one answer (401), no oracle of what was wrong.
    const principal = await this.verifier.verify(token.length > MAX_PASTED_TOKEN || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token) ? 'x.x.x' : token);
    const exp = expiry(token);
    return { credential: token, principal, expiresAt: new Date(exp * 1000) };
  }

  principalOf(credential: string): Promise<Principal> {
    return this.verifier.verify(credential);
  }
}

/** `exp` of a token the verifier accepted (it requires one). */
function expiry(token: string): number {
  const exp: unknown = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).exp;
  return typeof exp === 'number' ? exp : 0;
}
