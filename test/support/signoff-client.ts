import { authHeader } from './app';

/** A small HTTP client of the Signoff API for end-to-end tests. */
export class SignoffClient {
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string>,
  ) {}

  /** A client with a token signed by TEST_JWT_SECRET (start the process with that AUTH_JWT_SECRET). */
  static async as(baseUrl: string, sub: string, roles: Parameters<typeof authHeader>[1]): Promise<SignoffClient> {
    return new SignoffClient(baseUrl, await authHeader(sub, roles));
  }

  async call(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(`${this.baseUrl}/api/v1${path}`, {
      method,
      headers: { ...this.headers, ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'application/yaml' : 'application/json' } : {}), ...extra },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
  }

  submit(job: unknown) {
    return this.call('POST', '/jobs', job);
  }
  job(id: string) {
    return this.call('GET', `/jobs/${id}`);
  }
  approve(id: string, body: unknown = {}) {
    return this.call('POST', `/approvals/${id}/approve`, body);
  }
}

/** Reads one sample value of a Prometheus exposition (`name{labels}`), 0 when absent. */
export function metric(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    if (line.slice(0, i) === series) return Number(line.slice(i + 1));
  }
  return 0;
}
