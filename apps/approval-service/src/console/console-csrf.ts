import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The console's server key (CSRF tokens): derived from CONSOLE_SESSION_SECRET, else from the
 * auth secret (AUTH_JWT_SECRET, or the standalone's own), so every instance of a deployment
 * agrees; with neither (JWKS only) a random key of this process (forms of another instance, or
 * from before a restart, are refused: set CONSOLE_SESSION_SECRET behind a load balancer).
 */
export function consoleKey(secret: string | null): Buffer {
  if (secret === null) return randomBytes(32);
  return createHmac('sha256', secret).update('signoff console csrf v1').digest();
}

/** The CSRF token of a session (the session cookie's value): HMAC-SHA256 under the server key, base64url. */
export function csrfToken(key: Buffer, session: string): string {
  return createHmac('sha256', key).update('csrf\0').update(session).digest('base64url');
}

/** Whether `token` (as posted) is the CSRF token of `session`, compared in constant time. */
export function csrfValid(key: Buffer, session: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length === 0 || token.length > 128) return false;
  const expected = Buffer.from(csrfToken(key, session));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Why a state-changing request is cross-site, or null: `Sec-Fetch-Site` other than `same-origin`,
 * or an `Origin` whose host is not the request's `Host`. `Origin: null` says nothing: browsers send
 * it on same-origin form posts of a page served with `Referrer-Policy: no-referrer` (the console's),
 * so such a request stands on `Sec-Fetch-Site` (when sent) and, always, the CSRF token and the
 * SameSite=Strict cookie.
 */
export function crossSiteReason(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const site = one('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site: ${site}`;
  const origin = one('origin');
  if (origin !== undefined && origin !== 'null') {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      host = null;
    }
    if (host === null || host !== one('host')) return 'Origin is another site';
  }
  return null;
}
