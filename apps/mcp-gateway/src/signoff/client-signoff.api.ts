import { SignoffApiError, SignoffClient } from '@signoff/client';
import type { JobSnapshot } from '../call/call-step';
import { GatewayDryRun, GatewayJobRequest, GatewaySubmitAnswer, SignoffApi, SignoffCallError } from './signoff-api.port';

/** Client codes that mean "no verdict of the API": the gateway answers `signoff_unavailable`. */
const NO_ANSWER = new Set(['network_error', 'invalid_response', 'response_too_large', 'timeout']);

function callError(error: unknown): unknown {
  if (!(error instanceof SignoffApiError)) return error;
  const code = NO_ANSWER.has(String(error.code)) ? 'signoff_unavailable' : String(error.code);
  return new SignoffCallError(code, error.message, error.status, error.details, error.retryAfterMs);
}

/**
 * The gateway's port on `@signoff/client`: one SignoffClient per MCP client token (the agent is
 * the submitter), so the client's typed errors, its safe retries (a lost connection on the
 * idempotent submit and reads, a 503 with Retry-After) and its answer bounds apply. The dry run of
 * `tools/list` (`POST /policy/evaluate`) is not a call of the client SDK: it is one fetch here.
 */
export class ClientSignoffApi extends SignoffApi {
  private readonly clients = new Map<string, SignoffClient>();

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    super();
  }

  private client(token: string): SignoffClient {
    let client = this.clients.get(token);
    if (!client) {
      // Bounded: tokens are many over time, few at once.
      if (this.clients.size >= 1000) this.clients.delete(this.clients.keys().next().value as string);
      client = new SignoffClient({ baseUrl: this.baseUrl, token, fetch: this.fetchImpl, retry: { maxAttempts: 3 } });
      this.clients.set(token, client);
    }
    return client;
  }

  async submit(token: string, request: GatewayJobRequest, signal?: AbortSignal): Promise<GatewaySubmitAnswer> {
    try {
      return (await this.client(token).submit(request, { signal })) as GatewaySubmitAnswer;
    } catch (error) {
      throw callError(error);
    }
  }

  async getJob(token: string, jobId: string, tenant: string, signal?: AbortSignal): Promise<JobSnapshot | null> {
    try {
      return (await this.client(token).get(jobId, { tenant, signal })) as unknown as JobSnapshot;
    } catch (error) {
      if (error instanceof SignoffApiError && error.code === 'not_found') return null;
      throw callError(error);
    }
  }

  async evaluate(token: string, request: Omit<GatewayJobRequest, 'job_id'>, signal?: AbortSignal): Promise<GatewayDryRun> {
    const res = await this.fetchImpl(`${this.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1/policy/evaluate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal,
    });
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok || !body || typeof body.decision !== 'string') {
      throw new SignoffCallError(typeof body?.code === 'string' ? body.code : 'signoff_unavailable', `POST /policy/evaluate answered ${res.status}`, res.status);
    }
    return { decision: body.decision, rule_id: typeof body.rule_id === 'string' ? body.rule_id : null, reason: typeof body.reason === 'string' ? body.reason : '' };
  }
}
