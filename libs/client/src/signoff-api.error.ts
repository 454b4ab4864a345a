import type { ErrorCode } from '@signoff/contracts';

/**
 * Codes the client itself raises, beside the API's problem+json codes:
 * - `network_error`: the request did not get an answer (connection refused or reset);
 * - `invalid_response`: the server answered something that is not the API (not JSON, not a
 *   problem document, a body of the wrong shape);
 * - `response_too_large`: the answer was larger than `maxResponseBytes`;
 * - `timeout`: a `timeoutMs` (of one request or of `waitForDecision`) passed;
 * - `approved_with_changes`: a reviewer approved an amended request the caller did not submit
 *   (the adapters run only what was submitted);
 * - `grant_refused`-family: the refusal codes of `verifyGrant` (`unsigned`, `bad_signature`, ...).
 */
export type ClientErrorCode = 'network_error' | 'invalid_response' | 'response_too_large' | 'timeout' | 'approved_with_changes';

/** Every `code` a {@link SignoffApiError} may carry: the API's, the client's, or a grant refusal's. */
export type SignoffErrorCode = ErrorCode | ClientErrorCode | (string & {});

/**
 * The one error of `@signoff/client`. `code` is the API's stable problem+json `code` (switch on
 * it, never on the message), or one of {@link ClientErrorCode}; `status` the HTTP status (0 when
 * there was no HTTP answer); `retryAfterMs` the server's Retry-After, when it sent one; `details`
 * the problem document's extension members (`rule_id`, `errors`, `expected`, `current`, ...).
 * An aborted call rejects with the signal's reason instead (an `AbortError`), never with this.
 */
export class SignoffApiError extends Error {
  override readonly name = 'SignoffApiError';
  constructor(
    readonly code: SignoffErrorCode,
    message: string,
    readonly status: number = 0,
    readonly details: Readonly<Record<string, unknown>> = {},
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when the API said this exact call may be repeated later (a 503 with Retry-After). */
  get retryable(): boolean {
    return this.status === 503 && this.retryAfterMs !== null;
  }
}

const PROBLEM_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'instance', 'code']);

/**
 * The error an HTTP answer that is not 2xx stands for. A problem+json body keeps its `code`,
 * detail and extensions; anything else (an HTML error page of a proxy, garbage) is
 * `invalid_response` with the status, so a caller never mistakes it for a verdict of the API.
 */
export function errorOfAnswer(status: number, body: unknown, retryAfterMs: number | null): SignoffApiError {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const problem = body as Record<string, unknown>;
    if (typeof problem.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(problem.code)) {
      const details: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(problem)) if (!PROBLEM_MEMBERS.has(name)) details[name] = value;
      const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, 2_000) : problem.code;
      return new SignoffApiError(problem.code, detail, status, details, retryAfterMs);
    }
  }
  return new SignoffApiError('invalid_response', `HTTP ${status} without a problem document`, status, {}, retryAfterMs);
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3); null
 * when absent or unreadable. Capped at one hour so a hostile header cannot park a caller forever.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (!/[a-z]/i.test(text) || Number.isNaN(at)) return null;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, 3_600_000);
}
