/**
 * The stable error codes of the HTTP API (DESIGN section 4) with their HTTP status.
 * Clients switch on `code`; never rename one.
 */
export const ERROR_CODES = {
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  invalid_request: 400,
  reserved_label: 400,
  invalid_policy: 400,
  /** `Last-Event-ID` of `GET /approvals/stream` is malformed or no longer retained: reload, reconnect without it. */
  invalid_last_event_id: 400,
  payload_too_large: 413,
  /** Framework refusals before any route runs (HTTP parser, router, body parser). */
  request_timeout: 408,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  policy_denied: 403,
  throttled: 429,
  policy_unavailable: 503,
  store_unavailable: 503,
  job_request_changed: 409,
  snapshot_changed: 409,
  stale_review: 409,
  already_rejected: 409,
  already_approved: 409,
  expired: 409,
  invalidated: 409,
  not_awaiting_approval: 409,
  self_approval_forbidden: 403,
  /** Edit before approve: `amended_request` changes a field that is fixed (topic, priority, tenant, submitter, job_id). */
  amendment_field_fixed: 400,
  /** Edit before approve: the active policy denies the amended request. */
  amendment_denied: 403,
  /** Edit before approve: the amended request needs a stricter approval than the open one: submit it as a new job. */
  amendment_needs_new_approval: 409,
  /** Edit before approve: the approval already records the most amendments it keeps (MAX_AMENDMENTS). */
  too_many_amendments: 409,
  /** Resolving a job whose outcome is not UNKNOWN (or was resolved otherwise already). */
  not_ambiguous: 409,
  /** A worker report for an attempt (or idempotency key) the job's stream never recorded as dispatched. */
  not_dispatched: 409,
  busy: 503,
  /** The identity provider's key set (AUTH_JWKS_URL) cannot be fetched: retry; says nothing about the token. */
  auth_unavailable: 503,
  /** Slack interactions (POST /integrations/slack/interactions): the request is not signed by Slack. */
  slack_signature_missing: 401,
  slack_signature_invalid: 401,
  /** X-Slack-Request-Timestamp more than five minutes from now: a replay. */
  slack_timestamp_stale: 401,
  slack_payload_invalid: 400,
  slack_payload_too_large: 413,
  /** Delegations (issue 12 section 4): a grant the rules refuse (self, period, bounds). */
  invalid_delegation: 400,
  /** The delegator already has a delegation for part of that period (one delegate at a time). */
  delegation_overlaps: 409,
  /** The delegator has as many open (current or future) delegations as allowed. */
  too_many_delegations: 409,
  /** A vote `on_behalf_of` someone with no active delegation chain to the caller (also: a cycle). */
  delegation_not_found: 403,
  /** The chain from the delegator to the caller is longer than allowed. */
  delegation_chain_too_long: 403,
  /** Audit proofs (issue 14): `event_id` is not a UUID. */
  invalid_event_id: 400,
  /** Audit proofs: a tree size (`from`, `to`, `tree_size`) that is not a decimal integer, out of order, or beyond the signed tree. */
  invalid_tree_size: 400,
  /** `GET /audit/events`: a filter that cannot be read (`from`/`to` not ISO 8601, an over-long value, a bad `decision`). */
  invalid_audit_filter: 400,
  /** `GET /audit/events`: a cursor this service did not issue. */
  invalid_cursor: 400,
  /** The audit tree is not kept on this store (KurrentDB) or this service has no signing key. */
  audit_unavailable: 503,
  /** A receipt (or a proof) asked for before the audit tree has logged the event: retry after Retry-After. */
  not_yet_logged: 409,
  /** `GET /jobs/:id/receipt` for a job without a decision yet (awaiting approval). */
  no_decision: 409,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** gRPC status codes used by the reviewer gateway (DESIGN section 5). */
export const GRPC_STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The gRPC status for an error code. */
export function grpcStatusFor(code: ErrorCode): number {
  const http = ERROR_CODES[code];
  if (http === 401) return GRPC_STATUS.UNAUTHENTICATED;
  if (http === 403) return GRPC_STATUS.PERMISSION_DENIED;
  if (http === 404) return GRPC_STATUS.NOT_FOUND;
  if (http === 409) return GRPC_STATUS.FAILED_PRECONDITION;
  if (http === 503 || http === 429) return GRPC_STATUS.UNAVAILABLE;
  if (http >= 400 && http < 500) return GRPC_STATUS.INVALID_ARGUMENT;
  return GRPC_STATUS.INTERNAL;
}

/** An RFC 9457 problem document with Signoff's extra `code` member. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly code: ErrorCode;
  readonly [extension: string]: unknown;
}

/**
 * An error that reaches a client: a stable `code`, its HTTP status and optional extension members
 * (e.g. `rule_id`, `expected`, `current`, `errors`).
 */
export class SignoffError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'SignoffError';
    this.status = ERROR_CODES[code];
  }

  /** The problem+json body of this error. */
  toProblem(instance?: string): Problem {
    return {
      type: `https://signoff.dev/problems/${this.code.replace(/_/g, '-')}`,
      title: this.code.replace(/_/g, ' '),
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      code: this.code,
      ...this.extensions,
    };
  }
}
