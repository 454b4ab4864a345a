/**
 * A console form as the handlers read it: the string fields of the parsed body, the first value of
 * a repeated name. Bodies are `application/x-www-form-urlencoded`, parsed by Nest's Fastify adapter
 * (null prototype, `__proto__` refused, the app's body limit); anything else reads as empty and is
 * refused by the CSRF check.
 */
export function formOf(body: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return out;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    const first: unknown = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[name] = first;
  }
  return out;
}
