import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignoffApiError, SignoffClient } from '@signoff/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, tokenFor } from '../support/app';
import { FaultProxy } from '../support/fault-proxy';
import { ServiceProcess, startApp } from '../support/processes';

const POLICY = 'test/e2e/fixtures/agent-policy.yaml';
const PAY = { topic: 'agent.tool.pay', payload: { to: 'acme', amount: 120 } };

const refusal = (promise: Promise<unknown>): Promise<SignoffApiError> =>
  promise.then(
    (value) => {
      throw new Error(`expected a refusal, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error as SignoffApiError,
  );

/**
 * @signoff/client against the real standalone (`npm start`'s composition as its own process),
 * directly and through a fault-injecting proxy: what agents meet on a real network.
 */
describe('client SDK against the standalone server', () => {
  let dataDir: string;
  let app: ServiceProcess;
  let proxy: FaultProxy;
  let agent: SignoffClient;
  let reviewer: SignoffClient;
  let reviewerViaProxy: SignoffClient;
  let agentViaProxy: SignoffClient;
  let n = 0;
  const id = (name: string) => `sdk-${name}-${++n}-${Date.now()}`;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-client-'));
    app = await startApp('standalone', { EVENT_STORE_URL: `pglite://${dataDir}`, POLICY_PATH: POLICY, AUTH_JWT_SECRET: TEST_JWT_SECRET, GRPC_PORT: '0', DISPATCH_GRACE_MS: '500' });
    proxy = await FaultProxy.start(app.url);
    const agentToken = await tokenFor('agent-1', ['submitter']);
    const reviewerToken = await tokenFor('rita', ['reviewer']);
    agent = new SignoffClient({ baseUrl: app.url, token: agentToken });
    reviewer = new SignoffClient({ baseUrl: `${app.url}/api/v1`, token: () => reviewerToken });
    reviewerViaProxy = new SignoffClient({ baseUrl: proxy.url, token: reviewerToken, retry: { maxDelayMs: 3_000 } });
    agentViaProxy = new SignoffClient({ baseUrl: proxy.url, token: agentToken });
  });
  afterAll(async () => {
    await proxy?.close();
    await app?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('submits, reads and waits: allowed at once, approved by a reviewer, completed by the demo worker', async () => {
    const allowed = await agent.submit({ topic: 'agent.tool.lookup', payload: { q: 'refunds' } });
    expect(allowed).toMatchObject({ status: 'accepted', decision: 'allow', rule_id: 'allow-lookups' });
    expect(allowed.job_id).toMatch(/^[0-9a-f-]{36}$/); // made by the client, so a retry is idempotent
    expect(await agent.waitForDecision(allowed.job_id, { timeoutMs: 20_000 })).toMatchObject({ outcome: 'allowed', approved: true });
    expect(await agent.waitForDecision(allowed.job_id, { timeoutMs: 20_000, until: 'completion' })).toMatchObject({ state: 'SUCCEEDED' });

    const pay = await agent.submit({ ...PAY, job_id: id('pay') });
    expect(pay).toMatchObject({ status: 'approval_required', decision: 'require_human', rule_id: 'payments-need-a-human' });
    expect((await agent.get(pay.job_id)).state).toBe('APPROVAL_REQUIRED');
    // the reviewer's token may read the approval stream, the agent's only polls: both see the approval
    const byStream = reviewer.waitForDecision(pay.job_id, { timeoutMs: 30_000 });
    const byPolling = agent.waitForDecision(pay.job_id, { timeoutMs: 30_000, until: 'completion' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await reviewer.approve(pay.job_id, { reason: 'invoice checked', job_hash: pay.job_hash, policy_snapshot: pay.policy_snapshot })).toMatchObject({ status: 'approved' });
    expect(await reviewer.approve(pay.job_id)).toMatchObject({ status: 'already_approved' });
    expect(await byStream).toMatchObject({ outcome: 'approved', approved: true, job: { approval: { approved_by: ['rita'] } } });
    expect(await byPolling).toMatchObject({ outcome: 'approved', state: 'SUCCEEDED' });
  });

  it('ends the wait on a rejection with approved: false, and refusals are typed errors with the API code', async () => {
    const pay = await agent.submit({ ...PAY, job_id: id('reject') });
    const waiting = reviewer.waitForDecision(pay.job_id, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await reviewer.reject(pay.job_id, { reason: 'wrong vendor' })).toMatchObject({ status: 'rejected' });
    expect(await waiting).toMatchObject({ outcome: 'rejected', approved: false, job: { approval: { rejection_reason: 'wrong vendor' } } });

    const denied = await refusal(agent.submit({ topic: 'data.delete', payload: {} }));
    expect(denied).toBeInstanceOf(SignoffApiError);
    expect(denied).toMatchObject({ code: 'policy_denied', status: 403, details: { rule_id: null } });
    expect(await agent.waitForDecision(denied.details.job_id as string, { timeoutMs: 5_000 })).toMatchObject({ outcome: 'denied' });
    expect(await refusal(agent.get('no-such-job'))).toMatchObject({ code: 'not_found', status: 404 });
    expect(await refusal(agent.approve(pay.job_id))).toMatchObject({ code: 'forbidden', status: 403 });
    expect(await refusal(new SignoffClient({ baseUrl: app.url, token: 'not-a-jwt' }).get(pay.job_id))).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it('resubmits idempotently with the same job_id, refuses other content, and does not retry a throttle', async () => {
    const jobId = id('idem');
    const first = await agent.submit({ ...PAY, job_id: jobId });
    expect(await agent.submit({ ...PAY, job_id: jobId })).toEqual(first);
    expect(await refusal(agent.submit({ ...PAY, job_id: jobId, payload: { to: 'acme', amount: 9_999 } }))).toMatchObject({ code: 'job_request_changed', status: 409 });

    // the answer of the first POST is lost: the client sends it again and gets the original answer, one job
    const lost = id('lost');
    proxy.fault = (req) => (req.method === 'POST' && proxy.requests('POST', '/jobs').length === 1 ? { kind: 'lose-answer' } : { kind: 'pass' });
    const before = proxy.seen.length;
    const answer = await agentViaProxy.submit({ ...PAY, job_id: lost });
    proxy.fault = () => ({ kind: 'pass' });
    expect(proxy.seen.slice(before).filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(answer).toMatchObject({ job_id: lost, status: 'approval_required' });
    expect(await agent.get(lost)).toMatchObject({ job_id: lost, state: 'APPROVAL_REQUIRED', job_hash: answer.job_hash });

    await agent.submit({ topic: 'agent.tool.burst' });
    const posts = proxy.requests('POST', '/jobs').length;
    const throttled = await refusal(agentViaProxy.submit({ topic: 'agent.tool.burst' }));
    expect(throttled).toMatchObject({ code: 'throttled', status: 429, details: { rule_id: 'burst-limit' } });
    expect(throttled.retryAfterMs).toBeGreaterThan(0);
    expect(proxy.requests('POST', '/jobs').length).toBe(posts + 1); // the policy said no: never retried
  });

  it('retries 503 busy after its Retry-After, and only then', async () => {
    const pay = await agent.submit({ ...PAY, job_id: id('busy') });
    const busy = { kind: 'answer', status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' }, body: JSON.stringify({ type: 'x', title: 'busy', status: 503, code: 'busy', detail: 'too much contention on this job; retry shortly' }) } as const;
    let approves = 0;
    proxy.fault = (req) => (req.method === 'POST' && req.path.includes('/approve') && ++approves === 1 ? busy : { kind: 'pass' });
    const started = Date.now();
    expect(await reviewerViaProxy.approve(pay.job_id, { reason: 'ok' })).toMatchObject({ status: 'approved' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(approves).toBe(2);

    // a Retry-After longer than the client waits for: the error, with the hint, at once
    proxy.fault = () => ({ ...busy, headers: { ...busy.headers, 'retry-after': '120' } });
    const tooLong = await refusal(reviewerViaProxy.reject(pay.job_id, { reason: 'x' }));
    proxy.fault = () => ({ kind: 'pass' });
    expect(tooLong).toMatchObject({ code: 'busy', status: 503, retryAfterMs: 120_000, retryable: true });
  });

  it('keeps waiting across a cut stream (resuming with Last-Event-ID) and a server that is briefly unreachable', async () => {
    const target = await agent.submit({ ...PAY, job_id: id('cut') });
    let streams = 0;
    let refusing = false;
    proxy.fault = (req) => {
      if (refusing) return { kind: 'refuse' };
      if (req.path.startsWith('/api/v1/approvals/stream')) return ++streams <= 2 ? { kind: 'cut-after', ms: 700 } : { kind: 'pass' };
      return { kind: 'pass' };
    };
    const waiting = reviewerViaProxy.waitForDecision(target.job_id, { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    await agent.submit({ ...PAY, job_id: id('noise') }); // a change on the stream before the cut: an id to resume after
    await new Promise((r) => setTimeout(r, 1_000));
    refusing = true; // the server "restarts": every connection refused for a while
    await new Promise((r) => setTimeout(r, 800));
    refusing = false;
    await new Promise((r) => setTimeout(r, 500));
    await reviewer.approve(target.job_id, { reason: 'ok' });
    expect(await waiting).toMatchObject({ outcome: 'approved' });
    proxy.fault = () => ({ kind: 'pass' });
    const opened = proxy.requests('GET', '/approvals/stream');
    expect(opened.length).toBeGreaterThanOrEqual(2);
    expect(opened.some((r) => typeof r.headers['last-event-id'] === 'string' && r.headers['last-event-id'] !== '')).toBe(true);
  });

  it('rejects with the signal\'s reason on abort and with timeout past timeoutMs, everywhere', async () => {
    const pay = await agent.submit({ ...PAY, job_id: id('abort') });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const aborted = await refusal(reviewer.waitForDecision(pay.job_id, { signal: controller.signal }));
    expect((aborted as unknown as Error).name).toBe('AbortError');
    const pollAborted = new AbortController();
    setTimeout(() => pollAborted.abort(new Error('stop')), 200);
    expect(((await refusal(agent.waitForDecision(pay.job_id, { signal: pollAborted.signal }))) as unknown as Error).message).toBe('stop');
    expect(await refusal(agent.waitForDecision(pay.job_id, { timeoutMs: 300 }))).toMatchObject({ code: 'timeout', details: { state: 'APPROVAL_REQUIRED' } });
    expect(await refusal(agent.get(pay.job_id, { signal: AbortSignal.abort() }))).toMatchObject({ name: 'AbortError' });
    expect(await refusal(agent.submit(PAY, { signal: AbortSignal.abort() }))).toMatchObject({ name: 'AbortError' });
    expect((await reviewer.get(pay.job_id)).state).toBe('APPROVAL_REQUIRED');
  });
});

/** A server that answers what no Signoff would: the client must fail clearly and bounded. */
describe('client SDK against a hostile server', () => {
  let server: http.Server;
  let base: string;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => undefined;
  const client = (extra: Partial<ConstructorParameters<typeof SignoffClient>[0]> = {}) => new SignoffClient({ baseUrl: base, token: 't', requestTimeoutMs: 2_000, ...extra });
  const job = (state: string) => JSON.stringify({ job_id: 'j', topic: 't', state, decision: 'require_human', rule_id: 'r', policy_snapshot: 's', job_hash: 'h' });

  beforeAll(async () => {
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers garbage, HTML error pages and wrong shapes invalid_response, never a verdict', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"job_id": "j", "sta');
    expect(await refusal(client().get('j'))).toMatchObject({ code: 'invalid_response', status: 200 });
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
    expect(await refusal(client().get('j'))).toMatchObject({ code: 'invalid_response', status: 502 });
    handler = (_req, res) => res.writeHead(202, { 'content-type': 'application/json' }).end('[1,2,3]');
    expect(await refusal(client().submit({ topic: 't' }))).toMatchObject({ code: 'invalid_response' });
    handler = (_req, res) => res.writeHead(202, { 'content-type': 'application/json' }).end('{"hello":"world"}');
    expect(await refusal(client().submit({ topic: 't' }))).toMatchObject({ code: 'invalid_response' });
    handler = (_req, res) => res.writeHead(302, { location: 'http://evil.example/' }).end();
    expect(await refusal(client().get('j'))).toMatchObject({ code: 'network_error' }); // redirects are not followed (the token would go along)
  });

  it('refuses a huge body past maxResponseBytes without reading it all, declared or streamed', async () => {
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(50 * 1024 * 1024) }).end();
    expect(await refusal(client().get('j'))).toMatchObject({ code: 'response_too_large' });
    let written = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < 200 * 1024 * 1024 && res.write(chunk)) written += chunk.length;
        if (written < 200 * 1024 * 1024 && !res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    };
    expect(await refusal(client({ maxResponseBytes: 1024 * 1024 }).get('j'))).toMatchObject({ code: 'response_too_large' });
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });

  it('times out a server that answers too slowly, headers or body', async () => {
    handler = () => undefined; // never answers
    expect(await refusal(client({ requestTimeoutMs: 300 }).get('j'))).toMatchObject({ code: 'timeout' });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"job_id":');
    };
    expect(await refusal(client({ requestTimeoutMs: 300 }).get('j'))).toMatchObject({ code: 'timeout' });
  });

  it('gets past a stalled stream, an endless event and a stream that is not SSE, by reopening or polling', async () => {
    for (const stream of ['silent', 'endless-line', 'not-sse'] as const) {
      let reads = 0;
      let opens = 0;
      handler = (req, res) => {
        if (req.url?.startsWith('/api/v1/approvals/stream')) {
          opens++;
          if (stream === 'not-sse') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          if (stream === 'endless-line') res.write('data: ' + 'x'.repeat(2 * 1024 * 1024));
          return; // silent: headers, then nothing, ever
        }
        reads++;
        res.writeHead(200, { 'content-type': 'application/json' }).end(job(reads >= 4 ? 'REJECTED' : 'APPROVAL_REQUIRED'));
      };
      const decision = await client().waitForDecision('j', { timeoutMs: 15_000, streamIdleMs: 400, pollIntervalMs: 50 });
      expect(decision, stream).toMatchObject({ outcome: 'rejected', approved: false });
      expect(opens, stream).toBeGreaterThanOrEqual(1);
    }
  });

  it('falls back to polling when the token may not read the stream', async () => {
    let reads = 0;
    handler = (req, res) => {
      if (req.url?.startsWith('/api/v1/approvals/stream')) {
        return void res.writeHead(403, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 403, code: 'forbidden', title: 'forbidden', type: 'x' }));
      }
      reads++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(job(reads >= 3 ? 'PENDING' : 'APPROVAL_REQUIRED'));
    };
    expect(await client().waitForDecision('j', { timeoutMs: 10_000, pollIntervalMs: 50 })).toMatchObject({ outcome: 'allowed', state: 'PENDING' });
  });
});
