import fs from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSse, startWebhookReceiver, type SseClient } from '@signoff/approval-service/testing';
import { verifyWebhook } from '@signoff/contracts';
import { authHeader, TEST_JWT_SECRET } from '../support/app';
import { ServiceProcess, startApp } from '../support/processes';
import { SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

const POLICY = 'test/e2e/fixtures/e2e-policy.yaml';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** One request the receiver got: what it was, whether its Standard Webhooks signature verified, what it answered. */
interface Delivery {
  readonly id: string;
  readonly type: string;
  readonly jobId: string;
  readonly verified: boolean;
  readonly answered: number;
}

/** A webhook receiver on 127.0.0.1 that verifies every request and fails the types it is told to. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; failing: Set<string>; close: () => Promise<void> }> {
  const deliveries: Delivery[] = [];
  const failing = new Set<string>();
  const receiver = await startWebhookReceiver(({ headers, body }) => {
    let verified = true;
    let payload: { type: string; data: { job_id: string } };
    try {
      payload = verifyWebhook(SECRET, headers as IncomingHttpHeaders & Record<string, string>, body) as unknown as typeof payload;
    } catch {
      verified = false;
      payload = JSON.parse(body) as typeof payload;
    }
    const answered = failing.has(payload.type) ? 500 : 204;
    deliveries.push({ id: String(headers['webhook-id']), type: payload.type, jobId: payload.data.job_id, verified, answered });
    return answered;
  });
  return { url: `${receiver.url}/hooks`, deliveries, failing, close: () => receiver.close() };
}

/**
 * Live updates and webhooks on real processes (issue 12 "Done when"): the standalone as its own
 * Node process, a real SSE client and a real webhook receiver. An approval granted while the
 * receiver fails, then the process SIGKILLed, is still delivered (same webhook-id) after the
 * restart, and an SSE client resuming with Last-Event-ID from before the crash gets the changes
 * it missed.
 */
describe('SSE and webhooks on a real process, across a SIGKILL', () => {
  let dataDir: string;
  let app: ServiceProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let submitter: SignoffClient;
  let reviewer: SignoffClient;
  let reviewerAuth: string;
  const streams: SseClient[] = [];

  const start = async () => {
    app = await startApp('standalone', {
      EVENT_STORE_URL: `pglite://${dataDir}`,
      POLICY_PATH: POLICY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      GRPC_PORT: '0',
      DISPATCH_GRACE_MS: '500',
      SIGNOFF_WEBHOOKS_FILE: path.join(dataDir, 'webhooks.yaml'),
      WEBHOOK_BACKOFF_BASE_MS: '100',
      WEBHOOK_BACKOFF_MAX_MS: '300',
      WEBHOOK_MAX_ATTEMPTS: '50',
      // A crashed instance's claim on a message is taken over after this lease.
      WEBHOOK_CLAIM_LEASE_MS: '2000',
    });
    submitter = await SignoffClient.as(app.url, 'agent-1', ['submitter']);
    reviewer = await SignoffClient.as(app.url, 'rita', ['reviewer']);
  };
  const sse = async (lastEventId?: string) => {
    const stream = await openSse(app.url, reviewerAuth, lastEventId === undefined ? {} : { lastEventId });
    streams.push(stream);
    return stream;
  };
  const ok = (type: string, jobId: string) => receiver.deliveries.filter((d) => d.type === type && d.jobId === jobId && d.answered === 204);

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-notify-'));
    receiver = await startReceiver();
    fs.writeFileSync(
      path.join(dataDir, 'webhooks.yaml'),
      `endpoints:\n  - id: e2e-receiver\n    url: ${receiver.url}\n    secrets: [${SECRET}]\n    events: [approval.requested, approval.granted, approval.rejected]\n`,
    );
    reviewerAuth = (await authHeader('rita', ['reviewer'])).authorization!;
    await start();
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await app?.stop('SIGKILL');
    await receiver?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a client that opened the stream sees the request live; the endpoint gets it signed', async () => {
    const stream = await sse();
    expect(stream.status).toBe(200);
    const jobId = 'notify-1';
    const submitted = await submitter.submit({ job_id: jobId, topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 10 } });
    expect(submitted.body.status).toBe('approval_required');
    await eventually(() => stream.events.some((e) => e.event === 'requested' && (e.data.approval as { job_id: string }).job_id === jobId), 'requested on the stream');
    await eventually(() => ok('approval.requested', jobId).length > 0, 'approval.requested delivered');
    expect(receiver.deliveries.every((d) => d.verified)).toBe(true);
  });

  it('a grant the endpoint refused before a SIGKILL is delivered after the restart; the stream resumes where it stopped', async () => {
    const jobId = 'notify-2';
    const stream = await sse();
    await submitter.submit({ job_id: jobId, topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 20 } });
    await eventually(() => stream.events.some((e) => e.event === 'requested' && (e.data.approval as { job_id: string }).job_id === jobId), 'requested on the stream');
    const resumeFrom = stream.events.find((e) => e.event === 'requested' && (e.data.approval as { job_id: string }).job_id === jobId)!.id;
    stream.close();

    receiver.failing.add('approval.granted');
    expect((await reviewer.approve(jobId, { reason: 'ok' })).body.status).toBe('approved');
    await eventually(() => receiver.deliveries.some((d) => d.type === 'approval.granted' && d.jobId === jobId && d.answered === 500), 'a refused attempt');
    await app.stop('SIGKILL');
    const refusedIds = new Set(receiver.deliveries.filter((d) => d.type === 'approval.granted' && d.jobId === jobId).map((d) => d.id));
    expect(ok('approval.granted', jobId)).toHaveLength(0);

    receiver.failing.clear();
    await start();
    await eventually(() => ok('approval.granted', jobId).length > 0, 'approval.granted delivered after the restart');
    // The same message (its webhook-id is the event id), so a receiver de-duplicates retries.
    expect(refusedIds).toEqual(new Set(ok('approval.granted', jobId).map((d) => d.id)));
    expect(receiver.deliveries.every((d) => d.verified)).toBe(true);

    const resumed = await sse(resumeFrom);
    expect(resumed.status).toBe(200);
    await eventually(() => resumed.events.some((e) => e.event === 'granted' && (e.data.approval as { job_id: string }).job_id === jobId), 'the missed grant after resume');
    const kinds = resumed.events.filter((e) => (e.data.approval as { job_id: string }).job_id === jobId).map((e) => e.event);
    expect(kinds).not.toContain('requested');
    expect(kinds.filter((k) => k === 'granted')).toHaveLength(1);
  });
});
