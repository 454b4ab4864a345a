import { randomUUID } from 'node:crypto';
import type { ApprovalChange, ApprovalPage, ApproveInput, ApproveJobOutcome, JobRequest, JobView, RejectInput, RejectJobOutcome, SubmitAnswer } from './api.types';
import type { Decision, WaitUntil } from './decision';
import { HttpTransport, RetryOptions, TokenSource } from './http.transport';
import { SignoffApiError } from './signoff-api.error';
import { watchApprovals, WatchOptions } from './approval-stream';
import { waitForDecision } from './wait-for-decision';

export interface SignoffClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (what `npm start` prints; a trailing `/api/v1` is accepted). */
  readonly baseUrl: string;
  /** A bearer token (JWT), or a function returning a fresh one before every request. */
  readonly token: TokenSource;
  /** The tenant of every call that does not name one (default: the server's: the token's only tenant, else `default`). */
  readonly tenant?: string;
  /** Per-request timeout, the body included (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Answers larger than this are refused `response_too_large` (default 4 MiB; the SSE stream bounds each event to 1 MiB). */
  readonly maxResponseBytes?: number;
  readonly retry?: RetryOptions;
  /** The fetch to use (default: Node's global fetch). */
  readonly fetch?: typeof fetch;
}

/** Options of every call. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** The job's tenant (default: the client's). */
  readonly tenant?: string;
}

export interface WaitOptions extends RequestOptions {
  /** Give up after this long: rejects `timeout` (default: wait until the signal aborts). */
  readonly timeoutMs?: number;
  /** What to wait for (default `decision`). */
  readonly until?: WaitUntil;
  /**
   * `auto` (default): follow `GET /approvals/stream` while the job waits for reviewers when the
   * token may read it (reviewer, admin, auditor), else poll; `never`: poll only.
   */
  readonly stream?: 'auto' | 'never';
  /** First poll interval (default 500 ms), growing by half up to `maxPollIntervalMs` (default 5 s). */
  readonly pollIntervalMs?: number;
  readonly maxPollIntervalMs?: number;
  /** A stream that sends nothing (not even its 15 s heartbeat) for this long is reopened (default 45 s). */
  readonly streamIdleMs?: number;
}

/**
 * The Signoff API for agents, reviewer tools and workers: Node's fetch only, every call
 * abortable, errors as {@link SignoffApiError} with the API's `code`.
 *
 * Retries happen only where the API says they are safe: a 503 with Retry-After (`busy`,
 * `store_unavailable`, `policy_unavailable`, `auth_unavailable`: nothing was done) for any call,
 * and a lost connection for calls the API answers idempotently (reads, a submit, which always
 * carries a `job_id`, approve and reject). A throttle (429) or any other refusal is the caller's
 * to handle.
 */
export class SignoffClient {
  /** @internal */
  readonly http: HttpTransport;
  private readonly tenant: string | undefined;

  constructor(options: SignoffClientOptions) {
    this.http = new HttpTransport(options);
    this.tenant = options.tenant;
  }

  /** @internal The tenant query of a call. */
  tenantOf(options: RequestOptions = {}): { tenant?: string } {
    const tenant = options.tenant ?? this.tenant;
    return tenant === undefined ? {} : { tenant };
  }

  /**
   * `POST /jobs`. Resolves with the 202 answer (`accepted` or `approval_required`); a denial
   * rejects `policy_denied` (details: `rule_id`, `job_id`), a throttle `throttled` (with
   * `retryAfterMs`). Without `job_id` a random one is set, so the submit is idempotent: sending it
   * again (as the client does after a lost connection) answers the original answer; the same id
   * with other content is `job_request_changed`.
   */
  async submit(job: JobRequest, options: Omit<RequestOptions, 'tenant'> = {}): Promise<SubmitAnswer> {
    const tenant = job.tenant ?? this.tenant;
    const body = { ...job, job_id: job.job_id ?? randomUUID(), ...(tenant === undefined ? {} : { tenant }) };
    const answer = await this.http.call('POST', '/jobs', { body, signal: options.signal, idempotent: true });
    return expectShape<SubmitAnswer>(answer.body, ['job_id', 'status', 'job_hash'], 'POST /jobs');
  }

  /** `GET /jobs/:id`: the job's state (404 `not_found` for a job the caller may not read). */
  async get(jobId: string, options: RequestOptions = {}): Promise<JobView> {
    const answer = await this.http.call('GET', `/jobs/${encodeURIComponent(jobId)}`, { query: this.tenantOf(options), signal: options.signal, idempotent: true });
    return expectShape<JobView>(answer.body, ['job_id', 'state'], 'GET /jobs/:id');
  }

  /**
   * Resolves once the job is decided (or reached `until`): over the approval stream when the
   * token may read it, by polling `GET /jobs/:id` otherwise; survives lost connections (the stream
   * resumes with `Last-Event-ID`, polling goes on) until `timeoutMs` (rejects `timeout`) or the
   * signal aborts. A refusal (denied, rejected, expired, invalidated) resolves too, with
   * `approved: false`.
   */
  waitForDecision(jobId: string, options: WaitOptions = {}): Promise<Decision> {
    return waitForDecision(this, jobId, options);
  }

  /** `POST /approvals/:job_id/approve` (reviewer). Idempotent: a repeat answers `already_approved`. */
  async approve(jobId: string, input: ApproveInput = {}, options: RequestOptions = {}): Promise<ApproveJobOutcome> {
    const answer = await this.http.call('POST', `/approvals/${encodeURIComponent(jobId)}/approve`, { body: input, query: this.tenantOf(options), signal: options.signal, idempotent: true });
    return expectShape<ApproveJobOutcome>(answer.body, ['job_id', 'status'], 'approve');
  }

  /** `POST /approvals/:job_id/reject` (reviewer; a reason is required). Idempotent: a repeat answers `already_rejected`. */
  async reject(jobId: string, input: RejectInput, options: RequestOptions = {}): Promise<RejectJobOutcome> {
    const answer = await this.http.call('POST', `/approvals/${encodeURIComponent(jobId)}/reject`, { body: input, query: this.tenantOf(options), signal: options.signal, idempotent: true });
    return expectShape<RejectJobOutcome>(answer.body, ['job_id', 'status'], 'reject');
  }

  /** `GET /approvals/:job_id` (reviewer): the approval with the job request, the evidence to decide on. */
  async getApproval(jobId: string, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    const answer = await this.http.call('GET', `/approvals/${encodeURIComponent(jobId)}`, { query: this.tenantOf(options), signal: options.signal, idempotent: true });
    return expectShape<Record<string, unknown>>(answer.body, ['job_id'], 'GET /approvals/:job_id');
  }

  /** `GET /approvals` (reviewer): one page of pending approvals. */
  async listApprovals(query: { topic?: string; cursor?: string; rule?: string; drifted?: boolean } = {}, options: Omit<RequestOptions, 'tenant'> = {}): Promise<ApprovalPage> {
    const q = { state: 'pending', topic: query.topic, cursor: query.cursor, rule: query.rule, drifted: query.drifted === undefined ? undefined : String(query.drifted) };
    const answer = await this.http.call('GET', '/approvals', { query: q, signal: options.signal, idempotent: true });
    const page = expectShape<ApprovalPage>(answer.body, ['items'], 'GET /approvals');
    if (!Array.isArray(page.items)) throw new SignoffApiError('invalid_response', 'GET /approvals: items is not a list', answer.status);
    return page;
  }

  /**
   * `GET /approvals/stream` (reviewer, admin, auditor) as an async iterable of changes, reopened
   * after a lost connection with `Last-Event-ID` (each change once, in order). Ends when the
   * signal aborts (the loop then rejects with its reason).
   */
  watchApprovals(options: WatchOptions = {}): AsyncIterable<ApprovalChange> {
    return watchApprovals(this, options);
  }
}

/** The body as `T` when it has the members every answer of the route has; `invalid_response` otherwise. */
function expectShape<T>(body: Record<string, unknown>, members: readonly string[], route: string): T {
  const missing = members.filter((m) => body[m] === undefined || body[m] === null);
  if (missing.length > 0) throw new SignoffApiError('invalid_response', `${route}: the answer lacks ${missing.join(', ')}`, 200);
  return body as T;
}
