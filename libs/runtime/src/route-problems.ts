import { ERROR_CODES, ErrorCode } from '@signoff/contracts';
import type { Role } from './auth/principal';

/**
 * What each HTTP route may answer besides its success, declared once next to the route
 * (`@ApiProblems`) and read both by the OpenAPI document (`setupOpenApi`) and by the test that
 * checks the document against the running app. The codes a route answers because of its
 * authentication or its body are added here, from what the route is (see {@link routeProblemCodes}),
 * so no route has to repeat them.
 */

const PROBLEMS_METADATA = 'signoff:problems';
const NOTES_METADATA = 'signoff:problem-notes';

/** Any valid token: a missing or invalid one is 401; with AUTH_JWKS_URL an unreachable key set is 503. */
export const TOKEN_PROBLEMS: readonly ErrorCode[] = ['unauthenticated', 'auth_unavailable'];
/** A route limited to roles (`@Roles`): a token without one of them is 403. */
export const ROLE_PROBLEMS: readonly ErrorCode[] = ['forbidden'];
/** A route that takes a body: Fastify's body parsers refuse it before the handler (malformed JSON, over 1 MiB, another media type). */
export const BODY_PROBLEMS: readonly ErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type'];
/**
 * What any request may get before (or outside) its route: the HTTP parser and the router (a
 * malformed URL, a request line or headers over the limits, a request not received in time) and
 * the last resort `internal`. Documented as every operation's `default` response.
 */
export const FRAMEWORK_PROBLEMS: readonly ErrorCode[] = ['invalid_request', 'request_timeout', 'uri_too_long', 'headers_too_large', 'internal'];

/** HTTP methods whose body Fastify parses. */
const BODY_METHODS: ReadonlySet<string> = new Set(['post', 'put', 'patch', 'delete']);

/** Who may call a route: no token (ops, public keys), any valid token, or a token with one of `roles`. */
export type RouteAccess = { readonly kind: 'public' } | { readonly kind: 'token' } | { readonly kind: 'roles'; readonly roles: readonly Role[] };

/**
 * The problem codes of a route, beyond those of its access and body: `@ApiProblems(['not_found',
 * 'busy'], {busy: 'with Retry-After'})`. Repeatable; the codes add up. Notes are shown next to a
 * code in the document.
 */
export function ApiProblems(codes: readonly ErrorCode[], notes: Partial<Record<ErrorCode, string>> = {}): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const known = declaredProblems(handler);
    Reflect.defineMetadata(PROBLEMS_METADATA, [...new Set([...known, ...codes])], handler);
    Reflect.defineMetadata(NOTES_METADATA, { ...declaredProblemNotes(handler), ...notes }, handler);
    return descriptor;
  };
}

/** The codes `@ApiProblems` declared on a route handler (empty when none). */
export function declaredProblems(handler: object): readonly ErrorCode[] {
  return (Reflect.getMetadata(PROBLEMS_METADATA, handler) as ErrorCode[] | undefined) ?? [];
}

/** The notes `@ApiProblems` declared on a route handler. */
export function declaredProblemNotes(handler: object): Partial<Record<ErrorCode, string>> {
  return (Reflect.getMetadata(NOTES_METADATA, handler) as Partial<Record<ErrorCode, string>> | undefined) ?? {};
}

/**
 * Every problem code a route may answer: its declared ones, those of its access (401 and the key
 * set's 503 unless public, 403 when limited to roles) and of its body (POST, PUT, PATCH, DELETE),
 * in the order of ERROR_CODES. Framework refusals are not included (see {@link FRAMEWORK_PROBLEMS}).
 */
export function routeProblemCodes(route: { readonly method: string; readonly access: RouteAccess; readonly declared: readonly ErrorCode[] }): ErrorCode[] {
  const codes = new Set<ErrorCode>(route.declared);
  if (route.access.kind !== 'public') for (const code of TOKEN_PROBLEMS) codes.add(code);
  if (route.access.kind === 'roles') for (const code of ROLE_PROBLEMS) codes.add(code);
  if (BODY_METHODS.has(route.method.toLowerCase())) for (const code of BODY_PROBLEMS) codes.add(code);
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) => codes.has(code));
}

/** Problem codes grouped by their HTTP status (ERROR_CODES), statuses ascending. */
export function problemsByStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_CODES[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus.entries()].sort(([a], [b]) => a - b));
}
