import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_CLOCK_SKEW_SECONDS, mintToken } from '@signoff/runtime';
import { TEST_JWT_SECRET } from '../../../../test/support/app';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { openSse, SseClient } from '../testing/sse.client';
import { writePolicyFile } from '../testing/test-policies';

const MAX_BUFFERED_BYTES = 256 * 1024;

describe('GET /api/v1/approvals/stream (Server-Sent Events) with a real HTTP client, on real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  const open: SseClient[] = [];
  const sse = async (...args: Parameters<typeof openSse>) => {
    const client = await openSse(...args);
    open.push(client);
    return client;
  };
  const kinds = (client: SseClient) => client.events.map((e) => [e.event, (e.data.approval as { job_id: string }).job_id]);

  beforeAll(async () => {
    db = await createTestDatabase('sse');
    svc = await startApprovalApp({
      databaseUrl: db.url,
      policyPath: writePolicyFile(),
      approval: { sseHeartbeatMs: 200, sseMaxBufferedBytes: MAX_BUFFERED_BYTES, sseSlowClientGraceMs: 500 },
    });
  });
  afterAll(async () => {
    for (const client of open) client.close();
    await svc?.close();
    await db?.drop();
  });

  it('is live when the headers arrive: a client that then submits sees requested, vote_recorded and granted, with ids and heartbeats', async () => {
    for (let run = 0; run < 4; run += 1) {
      const tenant = `sse-${randomUUID().slice(0, 8)}`;
      const stream = await sse(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers['cache-control']).toBe('no-cache, no-transform');
      // No sleep: the headers are the signal.
      const job = await submitJob(svc.app, paymentJob({ tenant }));
      await eventually(() => stream.events.length >= 1, `run ${run}: the requested change`);
      expect(kinds(stream)).toEqual([['requested', job.job_id]]);
      if (run > 0) {
        stream.close();
        continue;
      }
      const approved = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve?tenant=${tenant}`, await bearer('rita', ['reviewer']), {});
      expect(approved.status).toBe(200);
      await eventually(() => stream.events.some((e) => e.event === 'granted'), 'the granted change');
      expect(kinds(stream)).toEqual([
        ['requested', job.job_id],
        ['vote_recorded', job.job_id],
        ['granted', job.job_id],
      ]);
      const [requested, , granted] = stream.events;
      expect(requested!.data).toMatchObject({ kind: 'requested', approval: { job_id: job.job_id, tenant, state: 'pending', required: 1 } });
      expect(granted!.data).toMatchObject({ kind: 'granted', approval: { job_id: job.job_id, state: 'approved' } });
      expect(new Set(stream.events.map((e) => e.id)).size).toBe(3);
      for (const e of stream.events) expect(e.id).toMatch(/^[0-9]+(\.[0-9]+)?$/);
      await eventually(() => stream.comments.includes('heartbeat'), 'a heartbeat comment');
      stream.close();
    }
  });

  it('resumes with Last-Event-ID: the changes made while disconnected arrive once, in order, then live ones', async () => {
    const tenant = `resume-${randomUUID().slice(0, 8)}`;
    const token = await bearer('wes', ['reviewer'], { tenants: [tenant] });
    const first = await sse(svc.url, token);
    const one = await submitJob(svc.app, paymentJob({ tenant }));
    await eventually(() => first.events.length >= 1, 'the first change');
    const last = first.events[0]!;
    first.close();
    await first.ended;

    const two = await submitJob(svc.app, paymentJob({ tenant }));
    const three = await submitJob(svc.app, paymentJob({ tenant }));
    expect((await call(svc.url, 'POST', `/approvals/${two.job_id}/approve?tenant=${tenant}`, await bearer('rita', ['reviewer']), {})).status).toBe(200);
    // The projection has folded all of it before the client comes back.
    await eventually(async () => (await call(svc.url, 'GET', `/approvals?tenant=${tenant}`, token)).body.items instanceof Array && ((await call(svc.url, 'GET', `/approvals?tenant=${tenant}`, token)).body.items as unknown[]).length === 2, 'two open approvals');

    const again = await sse(svc.url, token, { lastEventId: last.id });
    expect(again.status).toBe(200);
    await eventually(() => again.events.length >= 4, 'the missed changes');
    const four = await submitJob(svc.app, paymentJob({ tenant }));
    await eventually(() => again.events.length >= 5, 'a live change after the replay');
    await new Promise((r) => setTimeout(r, 300));
    expect(kinds(again)).toEqual([
      ['requested', two.job_id],
      ['requested', three.job_id],
      ['vote_recorded', two.job_id],
      ['granted', two.job_id],
      ['requested', four.job_id],
    ]);
    expect(kinds(again)).not.toContainEqual(['requested', one.job_id]);
    expect(new Set(again.events.map((e) => e.id)).size).toBe(5);

    // Resuming from the middle gives exactly the rest.
    const middle = await sse(svc.url, token, { lastEventId: again.events[2]!.id });
    await eventually(() => middle.events.length >= 2, 'the rest');
    await new Promise((r) => setTimeout(r, 200));
    expect(kinds(middle)).toEqual([
      ['granted', two.job_id],
      ['requested', four.job_id],
    ]);
  });

  it("shows a reviewer nothing of another tenant's or another topic's approvals; ?topic= filters like the list", async () => {
    const tenant = `iso-${randomUUID().slice(0, 8)}`;
    const outsider = await sse(svc.url, await bearer('otto', ['reviewer'], { tenants: ['somebody-else'] }));
    const otherTopics = await sse(svc.url, await bearer('tina', ['reviewer'], { tenants: [tenant], topics: ['customer.*'] }));
    const financeOnly = await sse(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }), { topic: 'finance.*' });
    const everything = await sse(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    const payment = await submitJob(svc.app, paymentJob({ tenant }));
    await eventually(() => everything.events.length >= 1 && financeOnly.events.length >= 1, 'the payment change');
    await new Promise((r) => setTimeout(r, 300));
    expect(kinds(financeOnly)).toEqual([['requested', payment.job_id]]);
    expect(outsider.events).toEqual([]);
    expect(otherTopics.events).toEqual([]);

    const refused = await sse(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }), { topic: 'finance/(' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(await refused.body())).toMatchObject({ code: 'invalid_request' });
  });

  it('refuses without a token (401), with a role that may not read approvals (403), and an unknown or malformed Last-Event-ID (400 invalid_last_event_id)', async () => {
    const anonymous = await sse(svc.url, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(await anonymous.body())).toMatchObject({ code: 'unauthenticated' });

    const submitter = await sse(svc.url, await bearer('agent-7', ['submitter']));
    expect(submitter.status).toBe(403);
    expect(JSON.parse(await submitter.body())).toMatchObject({ code: 'forbidden' });

    const reviewer = await bearer('wes', ['reviewer']);
    for (const lastEventId of ['garbage', '99999999999', '-1', '1.x']) {
      const refused = await sse(svc.url, reviewer, { lastEventId });
      expect(refused.status, lastEventId).toBe(400);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(JSON.parse(await refused.body())).toMatchObject({ code: 'invalid_last_event_id', status: 400 });
    }
  });

  it('disconnects a client that does not read past the bound; the others get every change', async () => {
    const tenant = `slow-${randomUUID().slice(0, 8)}`;
    const token = await bearer('wes', ['reviewer'], { tenants: [tenant] });
    // A client that sends the request and never reads its socket.
    const { port, hostname } = new URL(svc.url);
    const slow = connect(Number(port), hostname);
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write(`GET /api/v1/approvals/stream HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    await new Promise<void>((resolve) => slow.once('data', () => resolve()));
    slow.pause();
    const fast = await sse(svc.url, token);

    // Well past what the loopback socket's kernel buffers absorb (a few MiB) plus the bound.
    const memo = 'x'.repeat(100_000);
    const jobs = 100;
    for (let i = 0; i < jobs; i += 1) await submitJob(svc.app, paymentJob({ tenant, payload: { amount: 10 + i, currency: 'EUR', memo } }));
    await eventually(() => fast.events.length >= jobs, 'every change on the fast client', 60_000);
    expect(fast.events.filter((e) => e.event === 'requested')).toHaveLength(jobs);

    // Still not reading for longer than the grace (500 ms): cut. Reading what is left then ends
    // with the close, well short of everything.
    await new Promise((r) => setTimeout(r, 1500));
    let received = 0;
    slow.on('data', (chunk: Buffer) => (received += chunk.length));
    slow.resume();
    await eventually(() => slowClosed, 'the slow client disconnected', 10_000);
    expect(received).toBeLessThan(jobs * memo.length);
  });

  it('never outlives its token: the stream ends when the JWT expires, and that token is refused on reconnect', async () => {
    const shortLived = `Bearer ${await mintToken(TEST_JWT_SECRET, { sub: 'tess', roles: ['reviewer'] }, 1)}`;
    const longLived = await sse(svc.url, await bearer('lena', ['reviewer']));
    const stream = await sse(svc.url, shortLived);
    expect(stream.status).toBe(200);
    const started = Date.now();
    await stream.ended;
    const lived = Date.now() - started;
    // `exp` plus the verifier's clock tolerance (AUTH_CLOCK_SKEW_SECONDS): as long as the token is accepted.
    expect(lived).toBeGreaterThan(AUTH_CLOCK_SKEW_SECONDS * 1000 - 1000);
    expect(lived).toBeLessThan((AUTH_CLOCK_SKEW_SECONDS + 2) * 1000);
    const again = await sse(svc.url, shortLived);
    expect(again.status).toBe(401);
    // A stream whose token is still valid stays open and live.
    const job = await submitJob(svc.app, paymentJob());
    await eventually(() => kinds(longLived).some(([kind, id]) => kind === 'requested' && id === job.job_id), 'the live stream still delivers');
  });

  it('app.close() ends the open streams (graceful shutdown does not hang on them)', async () => {
    const other = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile() });
    const stream = await sse(other.url, await bearer('wes', ['reviewer']));
    expect(stream.status).toBe(200);
    const closed = other.close().then(() => 'closed');
    expect(await Promise.race([closed, new Promise((r) => setTimeout(() => r('hung'), 10_000))])).toBe('closed');
    await stream.ended;
  });

  it('resumes on another instance (one restarted, or behind a load balancer): the id names the same point of the log', async () => {
    const tenant = `moved-${randomUUID().slice(0, 8)}`;
    const token = await bearer('wes', ['reviewer'], { tenants: [tenant] });
    const first = await sse(svc.url, token);
    await submitJob(svc.app, paymentJob({ tenant }));
    await eventually(() => first.events.length >= 1, 'the first change');
    first.close();
    const two = await submitJob(svc.app, paymentJob({ tenant }));

    const other = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile() });
    try {
      // The new instance folds the log from the start; once it has seen both, the id resumes there.
      await eventually(async () => ((await call(other.url, 'GET', `/approvals?tenant=${tenant}`, token)).body.items as unknown[] | undefined)?.length === 2, 'the new instance caught up');
      const again = await sse(other.url, token, { lastEventId: first.events[0]!.id });
      expect(again.status).toBe(200);
      await eventually(() => again.events.length >= 1, 'the missed change');
      await new Promise((r) => setTimeout(r, 200));
      expect(kinds(again)).toEqual([['requested', two.job_id]]);
      again.close();
    } finally {
      await other.close();
    }
  });
});
