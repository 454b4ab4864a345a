import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsClient } from '@signoff/approval-service/testing';
import { commandsFor, submitTestJob } from '@signoff/dispatch-service/testing';
import { createEventStore } from '@signoff/event-store';
import { inSpan, startTracing } from '@signoff/observability';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { freePort } from '../../deploy/local/ports';
import { authHeader } from '../support/app';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';
import { SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

/** One finished span as the test-only exporter (`OTEL_TRACES_EXPORTER=signoff-test-file`) writes it. */
interface ExportedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  service: string;
  attributes: Record<string, unknown>;
  status: number;
}

const SPAN_KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 };
const SECRET_PAYLOAD = 'card-4111-1111-secret';
const SUBMITTER = 'agent-traced-person';

/**
 * OpenTelemetry across real processes: the policy, approval and dispatch services and the demo
 * worker, each exporting its finished spans to a file of its own, on the real broker and
 * PostgreSQL. One allowed job's spans, from the HTTP request to the worker's result, form one
 * trace that continues the caller's traceparent.
 */
describe('tracing a job from the request to the worker', () => {
  const prefix = `trc${randomBytes(3).toString('hex')}.`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-traces-'));
  let db: { url: string; drop: () => Promise<void> };
  const procs: ServiceProcess[] = [];
  let policy: ServiceProcess;
  let approval: ServiceProcess;
  let grpcPort: number;

  const traced = (service: string) => ({ OTEL_TRACES_EXPORTER: 'signoff-test-file', SIGNOFF_TEST_TRACES_FILE: path.join(dir, `${service}.jsonl`), OTEL_SERVICE_NAME: service });
  const spans = (): ExportedSpan[] =>
    fs
      .readdirSync(dir)
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ExportedSpan);

  beforeAll(async () => {
    db = await createTestDatabase('e2etrace');
    const env = {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      EVENT_STORE_URL: db.url,
      KAFKA_TOPIC_PREFIX: prefix,
      ...(await testTrustEnv()),
      POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
      DISPATCH_GRACE_MS: '1000',
    };
    grpcPort = await freePort();
    policy = await startApp('policy-service', { ...env, ...traced('policy') });
    procs.push(policy);
    const started = await Promise.all([
      startApp('approval-service', { ...env, GRPC_PORT: String(grpcPort), ...traced('approval') }),
      startApp('dispatch-service', { ...env, ...traced('dispatch') }),
      startApp('demo-worker', { ...env, WORKER_GROUP_ID: `${prefix}workers`, ...traced('worker') }),
    ]);
    approval = started[0];
    procs.push(...started);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("one job's spans form one trace: HTTP ingress, policy, append, relay, Kafka, dispatcher, worker, result", async () => {
    const submitter = await SignoffClient.as(policy.url, SUBMITTER, ['submitter']);
    const reader = await SignoffClient.as(policy.url, 'auditor', ['auditor']);
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const submitted = await submitter.call('POST', '/jobs', { job_id: 't-allow', topic: 'knowledge.read', payload: { card: SECRET_PAYLOAD } }, { traceparent: `00-${traceId}-${callerSpan}-01` });
    expect(submitted.status).toBe(202);
    await eventually(async () => (await reader.job('t-allow')).body.state === 'SUCCEEDED', 't-allow to succeed', 30_000);

    const p = prefix;
    const expected = [
      ['policy', SPAN_KIND.SERVER, 'POST /api/v1/jobs'],
      ['policy', SPAN_KIND.INTERNAL, 'policy.evaluate'],
      ['policy', SPAN_KIND.CLIENT, 'appendToStream job'],
      ['policy', SPAN_KIND.PRODUCER, `send ${p}jobs.evaluated`],
      ['dispatch', SPAN_KIND.CONSUMER, `process ${p}jobs.evaluated`],
      ['dispatch', SPAN_KIND.INTERNAL, 'dispatch job'],
      ['dispatch', SPAN_KIND.PRODUCER, `send ${p}jobs.dispatch`],
      ['worker', SPAN_KIND.CONSUMER, `process ${p}jobs.dispatch`],
      ['worker', SPAN_KIND.INTERNAL, 'run job'],
      ['worker', SPAN_KIND.PRODUCER, `send ${p}jobs.results`],
      ['dispatch', SPAN_KIND.CONSUMER, `process ${p}jobs.results`],
    ] as const;
    // The last result (succeeded) is recorded a moment after the job reads SUCCEEDED elsewhere: wait for its spans.
    await eventually(
      () => {
        const names = new Set(spans().filter((s) => s.traceId === traceId).map((s) => `${s.service}|${s.kind}|${s.name}`));
        return expected.every(([service, kind, name]) => names.has(`${service}|${kind}|${name}`));
      },
      "every seam's span in the job's trace",
      15_000,
    );
    const trace = spans().filter((s) => s.traceId === traceId);

    // One tree: the ingress span's parent is the caller's span; every other span's parent is in the trace.
    const ids = new Set(trace.map((s) => s.spanId));
    const roots = trace.filter((s) => !ids.has(s.parentSpanId ?? ''));
    expect(roots.map((s) => [s.name, s.parentSpanId])).toEqual([['POST /api/v1/jobs', callerSpan]]);

    // Semantic conventions on the seams.
    const http = trace.find((s) => s.name === 'POST /api/v1/jobs')!;
    expect(http.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/api/v1/jobs', 'http.response.status_code': 202, 'url.path': '/api/v1/jobs' });
    const consumed = trace.find((s) => s.name === `process ${p}jobs.dispatch`)!;
    expect(consumed.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.operation.type': 'process', 'messaging.destination.name': `${p}jobs.dispatch` });
    const append = trace.find((s) => s.name === 'appendToStream job')!;
    expect(append.attributes).toMatchObject({ 'db.system.name': 'postgresql', 'db.operation.name': 'appendToStream', 'signoff.job.id': 't-allow' });
    expect(trace.find((s) => s.name === 'policy.evaluate')!.attributes).toMatchObject({ 'signoff.policy.decision': 'allow', 'signoff.policy.rule_id': 'allow-readonly' });
    // The relay span continues the trace although it ran after the request had ended: from the event's metadata.
    const relayed = trace.find((s) => s.name === `send ${p}jobs.evaluated`)!;
    expect(trace.find((s) => s.spanId === relayed.parentSpanId)?.name).toBe('POST /api/v1/jobs');

    // No personal data or payload in any attribute of any span of any process.
    const everything = JSON.stringify(spans());
    expect(everything).not.toContain(SECRET_PAYLOAD);
    expect(everything).not.toContain(SUBMITTER);

    // The job's events carry the trace context they were written in.
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ type: string; traceparent: string | null }>(
        "SELECT type, metadata->>'traceparent' AS traceparent FROM event_store.events WHERE stream_id LIKE '%t-allow' ORDER BY position",
      );
      expect(rows.map((r) => r.type)).toEqual(expect.arrayContaining(['JobSubmitted', 'PolicyEvaluated', 'DispatchClaimed', 'JobDispatched', 'JobCompleted']));
      for (const row of rows) expect(row.traceparent, row.type).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    } finally {
      await pg.end();
    }
  });

  it('a forged or malformed traceparent is ignored: the job runs, in a trace of its own', async () => {
    const submitter = await SignoffClient.as(policy.url, SUBMITTER, ['submitter']);
    const reader = await SignoffClient.as(policy.url, 'auditor', ['auditor']);
    const forged = '00-ffffffffffffffffffffffffffffffff-zzzzzzzzzzzzzzzz-01';
    expect((await submitter.call('POST', '/jobs', { job_id: 't-forged', topic: 'knowledge.read' }, { traceparent: forged })).status).toBe(202);
    expect((await submitter.call('POST', '/jobs', { job_id: 't-zero', topic: 'knowledge.read' }, { traceparent: `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01` })).status).toBe(202);
    for (const id of ['t-forged', 't-zero']) await eventually(async () => (await reader.job(id)).body.state === 'SUCCEEDED', `${id} to succeed`, 30_000);
    const ingress = spans().filter((s) => s.name === 'POST /api/v1/jobs' && s.parentSpanId === null);
    expect(ingress.length).toBeGreaterThanOrEqual(2);
    expect(spans().some((s) => s.traceId === 'ffffffffffffffffffffffffffffffff' || s.traceId === '0'.repeat(32))).toBe(false);
  });

  it('an approval continues the approve request\'s trace to the worker (gRPC and HTTP ingress are spans too)', async () => {
    const submitter = await SignoffClient.as(policy.url, SUBMITTER, ['submitter']);
    const reviewer = await SignoffClient.as(approval.url, 'rita', ['reviewer']);
    const reader = await SignoffClient.as(policy.url, 'auditor', ['auditor']);
    const pay = await submitter.submit({ job_id: 't-pay', topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 5 } });
    expect(pay.body.status).toBe('approval_required');
    await eventually(async () => (await reviewer.call('GET', '/approvals/t-pay')).status === 200, 'the approval service to know the job', 10_000);
    // The gRPC gateway: a call is a SERVER span with the RPC conventions, a child of the caller's traceparent.
    const grpc = approvalsClient(`127.0.0.1:${grpcPort}`);
    const grpcTrace = randomBytes(16).toString('hex');
    const grpcCaller = randomBytes(8).toString('hex');
    try {
      const { authorization } = await authHeader('rita', ['reviewer']);
      const detail = await grpc.call('GetApproval', { job_id: 't-pay' }, authorization, { traceparent: `00-${grpcTrace}-${grpcCaller}-01` });
      expect(detail).toMatchObject({ job_id: 't-pay' });
      await expect(grpc.call('GetApproval', { job_id: 't-none' }, authorization, { traceparent: 'forged' })).rejects.toMatchObject({ code: 5 });
    } finally {
      grpc.close();
    }
    await eventually(() => spans().some((s) => s.traceId === grpcTrace), 'the gRPC span', 10_000);
    const rpc = spans().find((s) => s.traceId === grpcTrace)!;
    expect(rpc).toMatchObject({ name: 'signoff.v1.Approvals/GetApproval', kind: SPAN_KIND.SERVER, parentSpanId: grpcCaller, service: 'approval' });
    expect(rpc.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'signoff.v1.Approvals', 'rpc.method': 'GetApproval', 'rpc.grpc.status_code': 0 });
    await eventually(() => spans().some((s) => s.name === 'signoff.v1.Approvals/GetApproval' && s.attributes['rpc.grpc.status_code'] === 5), 'the NOT_FOUND call\'s span', 10_000);

    const traceId = randomBytes(16).toString('hex');
    const approved = await reviewer.call('POST', '/approvals/t-pay/approve', { reason: 'ok' }, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
    expect(approved.body.status).toBe('approved');
    await eventually(async () => (await reader.job('t-pay')).body.state === 'SUCCEEDED', 't-pay to succeed', 30_000);
    await eventually(() => spans().some((s) => s.traceId === traceId && s.name === 'run job' && s.attributes['signoff.job.id'] === 't-pay'), 'the worker span in the approve trace', 15_000);
    const names = spans().filter((s) => s.traceId === traceId).map((s) => `${s.service}:${s.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'approval:POST /api/v1/approvals/:job_id/approve',
        `approval:send ${prefix}jobs.approved`,
        `dispatch:process ${prefix}jobs.approved`,
        `dispatch:send ${prefix}jobs.dispatch`,
        'worker:run job',
      ]),
    );
  });

  it("a replayed job continues its trace from the events' metadata (no notification on Kafka)", async () => {
    // No relay announces the job: the policy service (the relay of jobs.evaluated) is stopped, so
    // only the dispatch service's replay consumer can find it in the log.
    await policy.stop();
    // This process writes the job as a service would, inside a span: the events carry its traceparent.
    startTracing({ exporter: 'none', serviceName: 'e2e-seed', resourceAttributes: {}, sampler: 'always_on', samplerRatio: 1 }, { exporter: new InMemorySpanExporter() });
    const store = await createEventStore(db.url);
    let traceId = '';
    try {
      await inSpan('seed', {}, async (span) => {
        traceId = span.spanContext().traceId;
        await submitTestJob(commandsFor(store), 't-replayed', 'allow');
      });
    } finally {
      await store.close();
    }
    // The worker's `process` span ends last (after the run and its reports).
    await eventually(() => spans().some((s) => s.traceId === traceId && s.service === 'worker' && s.name === `process ${prefix}jobs.dispatch`), 'the replayed job to run in its trace', 30_000);
    const names = spans().filter((s) => s.traceId === traceId).map((s) => `${s.service}:${s.name}`);
    expect(names).toEqual(expect.arrayContaining(['dispatch:replay job', 'dispatch:dispatch job', `dispatch:send ${prefix}jobs.dispatch`, `worker:process ${prefix}jobs.dispatch`, 'worker:run job']));
    expect(names).not.toContain(`dispatch:process ${prefix}jobs.evaluated`);
  });
});
