import type { JobSnapshot } from '../call/call-step';

/** A job request as the gateway submits it (`POST /api/v1/jobs`). */
export interface GatewayJobRequest {
  readonly job_id: string;
  readonly topic: string;
  readonly tenant: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A 202 of `POST /jobs`. */
export type GatewaySubmitAnswer =
  | { readonly status: 'accepted'; readonly job_id: string; readonly rule_id: string | null; readonly job_hash: string }
  | { readonly status: 'approval_required'; readonly job_id: string; readonly rule_id: string | null; readonly job_hash: string; readonly approval_ref: string };

/** What `POST /policy/evaluate` says of a request (a dry run: nothing stored or counted). */
export interface GatewayDryRun {
  readonly decision: string;
  readonly rule_id: string | null;
  readonly reason: string;
}

/**
 * A refusal of the Signoff API: its problem+json `code` (or `signoff_unavailable` when there was
 * no usable answer), the HTTP status, the problem's extension members, and Retry-After in ms.
 */
export class SignoffCallError extends Error {
  override readonly name = 'SignoffCallError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/**
 * The gateway's port to the Signoff API. Every call carries the MCP client's own bearer token, so
 * Signoff sees the agent as the submitter (its `sub`, roles and tenants), never the gateway.
 */
export abstract class SignoffApi {
  /** `POST /jobs`; a refusal (403, 409, 429, 4xx, 5xx) throws {@link SignoffCallError}. */
  abstract submit(token: string, request: GatewayJobRequest, signal?: AbortSignal): Promise<GatewaySubmitAnswer>;
  /** `GET /jobs/:id?tenant=`; null when 404 (missing, or not the caller's to read). */
  abstract getJob(token: string, jobId: string, tenant: string, signal?: AbortSignal): Promise<JobSnapshot | null>;
  /** `POST /policy/evaluate`. */
  abstract evaluate(token: string, request: Omit<GatewayJobRequest, 'job_id'>, signal?: AbortSignal): Promise<GatewayDryRun>;
}
