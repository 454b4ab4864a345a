import type { JobSnapshot } from '../call/call-step';
import { GatewayDryRun, GatewayJobRequest, GatewaySubmitAnswer, SignoffApi, SignoffCallError } from './signoff-api.port';

/** Answers larger than this are not the API's (a job view with a large stored result stays below Signoff's 1 MiB bounds twice over). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** The Signoff API over fetch (`baseUrl` without `/api/v1`). */
export class FetchSignoffApi extends SignoffApi {
  constructor(private readonly baseUrl: string) {
    super();
  }

  private async call(method: string, path: string, token: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; body: unknown; retryAfterMs: number | null }> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl.replace(/\/+$/, '')}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new SignoffCallError('signoff_unavailable', `the Signoff API cannot be reached: ${(error as Error).message}`, 0);
    }
    const text = await res.text();
    if (text.length > MAX_ANSWER_BYTES) throw new SignoffCallError('signoff_unavailable', 'the Signoff API answered more than the gateway reads', res.status);
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new SignoffCallError('signoff_unavailable', `the Signoff API answered ${res.status} with something that is not JSON`, res.status);
    }
    const retry = res.headers.get('retry-after');
    return { status: res.status, body: parsed, retryAfterMs: retry && /^\d+$/.test(retry) ? Number(retry) * 1000 : null };
  }

  private refusal(answer: { status: number; body: unknown; retryAfterMs: number | null }): SignoffCallError {
    const problem = (answer.body ?? {}) as Record<string, unknown>;
    const code = typeof problem.code === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(problem.code) ? problem.code : 'signoff_unavailable';
    const details: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(problem)) if (!['type', 'title', 'status', 'detail', 'instance', 'code'].includes(k)) details[k] = v;
    const detail = typeof problem.detail === 'string' ? problem.detail.slice(0, 2000) : `HTTP ${answer.status}`;
    return new SignoffCallError(code, detail, answer.status, details, answer.retryAfterMs);
  }

  async submit(token: string, request: GatewayJobRequest, signal?: AbortSignal): Promise<GatewaySubmitAnswer> {
    const answer = await this.call('POST', '/jobs', token, request, signal);
    if (answer.status !== 202) throw this.refusal(answer);
    return answer.body as GatewaySubmitAnswer;
  }

  async getJob(token: string, jobId: string, tenant: string, signal?: AbortSignal): Promise<JobSnapshot | null> {
    const answer = await this.call('GET', `/jobs/${encodeURIComponent(jobId)}?tenant=${encodeURIComponent(tenant)}`, token, undefined, signal);
    if (answer.status === 404) return null;
    if (answer.status !== 200) throw this.refusal(answer);
    return answer.body as JobSnapshot;
  }

  async evaluate(token: string, request: Omit<GatewayJobRequest, 'job_id'>, signal?: AbortSignal): Promise<GatewayDryRun> {
    const answer = await this.call('POST', '/policy/evaluate', token, request, signal);
    if (answer.status !== 200 && answer.status !== 201) throw this.refusal(answer);
    return answer.body as GatewayDryRun;
  }
}
