/** The session cookie: the signed-in credential (re-verified on every request, so any instance serves it). */
export const SESSION_COOKIE = 'signoff_console';
/** Before sign-in: a random value the sign-in form's CSRF token is bound to. */
export const PRE_SESSION_COOKIE = 'signoff_console_pre';
/** Longest cookie value read (a JWT with many claims fits; more is not a session of ours). */
export const MAX_COOKIE_VALUE = 8192;

/** The value of cookie `name` in a `Cookie` header, or null (bounded; the first occurrence wins). */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text || text.length > 4 * MAX_COOKIE_VALUE) return null;
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return value.length > 0 && value.length <= MAX_COOKIE_VALUE && /^[A-Za-z0-9._~-]+$/.test(value) ? value : null;
  }
  return null;
}

/** `Set-Cookie` of a console cookie: HttpOnly, SameSite=Strict, Path=/console, Secure on https. */
export function setCookie(name: string, value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${name}=${value}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; Path=/console; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** `Set-Cookie` that removes a console cookie. */
export function clearCookie(name: string, secure: boolean): string {
  return setCookie(name, '', 0, secure);
}
