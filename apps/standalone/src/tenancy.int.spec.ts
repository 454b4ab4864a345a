import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { ServiceError, status as GrpcStatus } from '@grpc/grpc-js';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { checkReceipt, checkTreeHead, publicKeysOf, type DecisionReceipt, type SignedTreeHead } from '@signoff/audit-proof';
import { MessageBus } from '@signoff/messaging';
import { JsonLogger } from '@signoff/observability';
import { connectMessageBus, createHttpApp, listen, mintToken, Role } from '@signoff/runtime';
import { createWorker, DispatchedJob, Worker } from '@signoff/worker-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../deploy/local/ports';
import { testConfig, TEST_JWT_SECRET } from '../../../test/support/app';
import { createTestDatabase } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { connectApprovalsGrpc } from '@signoff/approval-service';
import { approvalsClient, ApprovalsClient } from '@signoff/approval-service/testing';
import { testKeys, testWorkerToken } from '../../../test/support/keys';
import { StandaloneServiceModule } from './app.module';

const POLICY = `
version: v1
default: deny
rules:
  - id: allow-readonly
    when: {topic: knowledge.read}
    decision: allow
  - id: pay
    when: {topic: finance.payment.execute}
    decision: require_human
    approval: {required: 1, timeout: 1h}
    redact: [payload.card_number]
  - id: notify
    when: {topic: customer.notify}
    decision: require_human
    approval: {required: 1, timeout: 1h}
`;

/** Values that must never reach any reader of history (AUDIT_REDACT_FIELDS, the rule's redact). */
const SECRETS = { card: '4111-1111-1111-1111', iban: 'DE89-3704-0044-0532-0130-00', token: 'tok-worker-result-secret' };

type Answer = { status: number; body: Record<string, unknown>; text: string };

async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as ServiceError,
  );
  if (!error) throw new Error('expected the call to fail');
  return error;
}

/**
 * The whole control plane in one process (policy, approval and dispatch modules, the in-process
 * bus, the reviewer gRPC gateway) on real PostgreSQL, with a worker-sdk worker: job identity is
 * scoped by tenant end to end, reads by id are limited to who may read, and redaction applies to
 * every reader of history.
 */
describe('tenants and reviewers see only what they may (standalone wiring, real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let app: NestFastifyApplication;
  let url: string;
  let grpc: ApprovalsClient;
  let worker: Worker;
  let claims: PGlite;
  const runs: DispatchedJob[] = [];
  const logs: string[] = [];

  const token = async (sub: string, roles: Role[], extra: { topics?: string[]; tenants?: string[] } = {}) =>
    `Bearer ${await mintToken(TEST_JWT_SECRET, { sub, roles, ...extra })}`;
  const call = async (method: 'GET' | 'POST', route: string, authorization: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${url}/api/v1${route}`, {
      method,
      headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
  };
  /** A 404 without its per-request members: what a probe may compare. */
  const problem = (a: Answer) => ({ ...a.body, detail: undefined, instance: undefined });

  beforeAll(async () => {
    db = await createTestDatabase('tenancy');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-tenancy-'));
    fs.writeFileSync(path.join(dir, 'policy.yaml'), POLICY);
    const config = testConfig({
      EVENT_STORE_URL: db.url,
      POLICY_PATH: path.join(dir, 'policy.yaml'),
      AUDIT_REDACT_FIELDS: 'payload.iban,result.token',
      DISPATCH_GRACE_MS: '60000',
      LOG_LEVEL: 'debug',
    });
    const logger = new JsonLogger('tenancy-test', 'debug', (line) => logs.push(line));
    app = await createHttpApp(StandaloneServiceModule.forRoot(config, TEST_JWT_SECRET, testKeys().keys), { service: 'tenancy-test', logger });
    await connectMessageBus(app, config, 'signoff-standalone');
    const grpcPort = await freePort();
    connectApprovalsGrpc(app, config, grpcPort);
    await app.startAllMicroservices();
    url = await listen(app, 0, '127.0.0.1');
    grpc = approvalsClient(`127.0.0.1:${grpcPort}`);
    claims = await PGlite.create();
    worker = await createWorker({
      bus: app.get(MessageBus, { strict: false }),
      db: claims,
      workerId: 'tenancy-worker',
      grantKeys: testKeys().keys.publicJwks(),
      workerToken: await testWorkerToken('tenancy-worker'),
      log: (level, message, fields) => logs.push(JSON.stringify({ level, message, ...fields })),
      handler: (job) => {
        runs.push(job);
        return { ran: `${job.tenant}/${job.job_id}`, token: SECRETS.token };
      },
    });
    await worker.start();
  });
  afterAll(async () => {
    grpc?.close();
    await worker?.stop();
    await app?.close();
    await claims?.close();
    await db?.drop();
  });

  it('the same job_id in two tenants is two jobs: both 202 with their own hashes, each seen only by its tenant (HTTP, gRPC), each dispatched and completed in its own tenant', async () => {
    const jobId = `shared-${randomUUID().slice(0, 8)}`;
    const acmeAgent = await token('agent-a', ['submitter'], { tenants: ['acme'] });
    const globexAgent = await token('agent-g', ['submitter'], { tenants: ['globex'] });
    const acmeBody = { job_id: jobId, tenant: 'acme', topic: 'finance.payment.execute', payload: { amount: 10, note: 'acme-only-note' } };
    const globexBody = { job_id: jobId, tenant: 'globex', topic: 'finance.payment.execute', payload: { amount: 99_999, note: 'globex-only-note' } };

    const acme = await call('POST', '/jobs', acmeAgent, acmeBody);
    const globex = await call('POST', '/jobs', globexAgent, globexBody);
    expect(acme.status).toBe(202);
    expect(globex.status).toBe(202);
    expect(acme.body).toMatchObject({ job_id: jobId, status: 'approval_required' });
    expect(globex.body).toMatchObject({ job_id: jobId, status: 'approval_required' });
    const acmeHash = acme.body.job_hash as string;
    const globexHash = globex.body.job_hash as string;
    expect(acmeHash).not.toBe(globexHash);
    expect(globex.text).not.toContain(acmeHash);

    // Idempotency and conflicts stay within a tenant and never name the other tenant's job.
    expect((await call('POST', '/jobs', acmeAgent, acmeBody)).body).toEqual(acme.body);
    const changed = await call('POST', '/jobs', acmeAgent, { ...acmeBody, payload: { amount: 11 } });
    expect(changed.status).toBe(409);
    expect(changed.body).toMatchObject({ code: 'job_request_changed', expected: acmeHash });
    expect(changed.text).not.toContain(globexHash);

    // Readers of each tenant (the token's only tenant is the default) see their own job only.
    const acmeReviewer = await token('rita', ['reviewer'], { tenants: ['acme'] });
    const globexReviewer = await token('gus', ['reviewer'], { tenants: ['globex'] });
    const answers: Record<'acme' | 'globex', Answer[]> = { acme: [], globex: [] };
    for (const [tenant, submitter, reviewer, hash] of [
      ['acme', acmeAgent, acmeReviewer, acmeHash],
      ['globex', globexAgent, globexReviewer, globexHash],
    ] as const) {
      const job = await call('GET', `/jobs/${jobId}`, submitter);
      expect(job.status).toBe(200);
      expect(job.body).toMatchObject({ job_id: jobId, job_hash: hash, state: 'APPROVAL_REQUIRED' });
      const approval = await call('GET', `/approvals/${jobId}`, reviewer);
      expect(approval.body).toMatchObject({ job_id: jobId, tenant, job_hash: hash });
      const history = await call('GET', `/jobs/${jobId}/events`, reviewer);
      expect(history.body).toMatchObject({ job_id: jobId, tenant });
      const named = await call('GET', `/approvals/${jobId}?tenant=${tenant}`, reviewer);
      expect(named.body).toMatchObject({ tenant, job_hash: hash });
      const grpcApproval = await grpc.call('GetApproval', { job_id: jobId }, reviewer);
      expect(grpcApproval).toMatchObject({ job_id: jobId, tenant, job_hash: hash });
      const listed = await grpc.call('ListApprovals', {}, reviewer);
      expect((listed.items as { job_id: string; tenant: string }[]).filter((i) => i.job_id === jobId)).toMatchObject([{ tenant, job_hash: hash }]);
      const httpListed = await call('GET', '/approvals', reviewer);
      expect((httpListed.body.items as { job_id: string }[]).filter((i) => i.job_id === jobId)).toMatchObject([{ tenant, job_hash: hash }]);
      answers[tenant].push(job, approval, history, named, httpListed, { status: 200, body: grpcApproval, text: JSON.stringify([grpcApproval, listed]) });
    }
    for (const a of answers.acme) expect(a.text).not.toMatch(new RegExp(`${globexHash.slice(7)}|globex`));
    for (const a of answers.globex) expect(a.text).not.toMatch(new RegExp(`${acmeHash.slice(7)}|acme`));

    // Naming the other tenant: the same 404 as a job that does not exist, by every route and transport.
    const missingId = `missing-${randomUUID().slice(0, 8)}`;
    for (const [route, method, body] of [
      ['/jobs/ID', 'GET', undefined],
      ['/jobs/ID/events', 'GET', undefined],
      ['/approvals/ID', 'GET', undefined],
      ['/approvals/ID/approve', 'POST', {}],
      ['/approvals/ID/reject', 'POST', { reason: 'probe' }],
    ] as const) {
      const auth = route === '/jobs/ID' ? acmeAgent : acmeReviewer;
      const probe = await call(method, `${route.replace('ID', jobId)}?tenant=globex`, auth, body);
      const missing = await call(method, `${route.replace('ID', missingId)}?tenant=acme`, auth, body);
      expect(probe.status, route).toBe(404);
      expect(missing.status, route).toBe(404);
      expect(problem(probe)).toEqual(problem(missing));
      expect(probe.text).not.toMatch(new RegExp(`${globexHash.slice(7)}|globex-only|99999`));
    }
    const grpcProbe = await failure(grpc.call('GetApproval', { job_id: jobId, tenant: 'globex' }, acmeReviewer));
    const grpcMissing = await failure(grpc.call('GetApproval', { job_id: missingId, tenant: 'acme' }, acmeReviewer));
    expect(grpcProbe.code).toBe(GrpcStatus.NOT_FOUND);
    expect(grpcProbe.details).toBe(grpcMissing.details);
    expect((await failure(grpc.call('Approve', { job_id: jobId, tenant: 'globex' }, acmeReviewer))).code).toBe(GrpcStatus.NOT_FOUND);

    // A reviewer of both tenants sees both approvals, each naming its tenant.
    const both = await token('bea', ['reviewer'], { tenants: ['acme', 'globex'] });
    const listed = await call('GET', '/approvals', both);
    expect((listed.body.items as { job_id: string; tenant: string }[]).filter((i) => i.job_id === jobId).map((i) => i.tenant).sort()).toEqual(['acme', 'globex']);

    // Approving one tenant's job dispatches that job only; the worker's results reach it.
    const approved = await call('POST', `/approvals/${jobId}/approve`, acmeReviewer, { job_hash: acmeHash });
    expect(approved.body).toMatchObject({ status: 'approved' });
    await eventually(async () => (await call('GET', `/jobs/${jobId}`, acmeAgent)).body.state === 'SUCCEEDED', 'the acme job to succeed', 20_000);
    expect((await call('GET', `/jobs/${jobId}`, globexAgent)).body.state).toBe('APPROVAL_REQUIRED');
    expect(runs.filter((r) => r.job_id === jobId).map((r) => [r.tenant, (r.payload as { note: string }).note])).toEqual([['acme', 'acme-only-note']]);

    expect((await grpc.call('Approve', { job_id: jobId, tenant: 'globex' }, both)).status).toBe('approved');
    await eventually(async () => (await call('GET', `/jobs/${jobId}`, globexAgent)).body.state === 'SUCCEEDED', 'the globex job to succeed', 20_000);
    const mine = runs.filter((r) => r.job_id === jobId);
    expect(mine.map((r) => [r.tenant, (r.payload as { note: string }).note])).toEqual([
      ['acme', 'acme-only-note'],
      ['globex', 'globex-only-note'],
    ]);
    expect(new Set(mine.map((r) => r.idempotency_key)).size).toBe(2);
    for (const [agent, tenant] of [
      [acmeAgent, 'acme'],
      [globexAgent, 'globex'],
    ] as const) {
      const done = await call('GET', `/jobs/${jobId}`, agent);
      expect(done.body).toMatchObject({ state: 'SUCCEEDED', result: { status: 'succeeded', result: { ran: `${tenant}/${jobId}` } } });
    }
  });

  it('allowed jobs of one id in two tenants are both dispatched once, in their own tenant', async () => {
    const jobId = `allowed-${randomUUID().slice(0, 8)}`;
    const agents = { acme: await token('agent-a', ['submitter'], { tenants: ['acme'] }), globex: await token('agent-g', ['submitter'], { tenants: ['globex'] }) };
    for (const tenant of ['acme', 'globex'] as const) {
      expect((await call('POST', '/jobs', agents[tenant], { job_id: jobId, tenant, topic: 'knowledge.read', payload: { q: tenant } })).status).toBe(202);
    }
    for (const tenant of ['acme', 'globex'] as const) {
      await eventually(async () => (await call('GET', `/jobs/${jobId}`, agents[tenant])).body.state === 'SUCCEEDED', `the ${tenant} job to succeed`, 20_000);
    }
    expect(runs.filter((r) => r.job_id === jobId).map((r) => [r.tenant, (r.payload as { q: string }).q]).sort()).toEqual([
      ['acme', 'acme'],
      ['globex', 'globex'],
    ]);
  });

  it("a reviewer whose topics do not cover a job reads nothing of it (404 like a missing job); admins and auditors are not limited by topics for reading", async () => {
    const agent = await token('agent-t', ['submitter']);
    const submitted = await call('POST', '/jobs', agent, { topic: 'finance.payment.execute', payload: { amount: 5 } });
    const jobId = submitted.body.job_id as string;
    const missingId = `missing-${randomUUID().slice(0, 8)}`;
    const notifier = await token('nora', ['reviewer'], { topics: ['customer.*'] });
    for (const route of ['/approvals/ID', '/jobs/ID/events', '/jobs/ID']) {
      const probe = await call('GET', route.replace('ID', jobId), notifier);
      const missing = await call('GET', route.replace('ID', missingId), notifier);
      expect(probe.status, route).toBe(404);
      expect(problem(probe)).toEqual(problem(missing));
      expect(probe.text).not.toMatch(/finance|sha256|amount/);
    }
    const grpcProbe = await failure(grpc.call('GetApproval', { job_id: jobId }, notifier));
    expect(grpcProbe.code).toBe(GrpcStatus.NOT_FOUND);
    expect((await grpc.call('ListApprovals', {}, notifier)).items as unknown[]).not.toContainEqual(expect.objectContaining({ job_id: jobId }));
    const finance = await token('fin', ['reviewer'], { topics: ['finance.*'] });
    expect((await call('GET', `/approvals/${jobId}`, finance)).status).toBe(200);
    for (const reader of [await token('ada', ['admin'], { topics: ['customer.*'] }), await token('aud', ['auditor'], { topics: ['customer.*'] })]) {
      expect((await call('GET', `/approvals/${jobId}`, reader)).status).toBe(200);
      expect((await call('GET', `/jobs/${jobId}/events`, reader)).status).toBe(200);
      expect((await call('GET', `/jobs/${jobId}`, reader)).status).toBe(200);
      expect(await grpc.call('GetApproval', { job_id: jobId }, reader)).toMatchObject({ job_id: jobId });
    }
  });

  it('a caller whose only role is submitter reads only the jobs it submitted', async () => {
    const alice = await token('agent-alice', ['submitter']);
    const bob = await token('agent-bob', ['submitter']);
    const submitted = await call('POST', '/jobs', alice, { topic: 'knowledge.read', payload: { q: 'alice' } });
    const jobId = submitted.body.job_id as string;
    expect((await call('GET', `/jobs/${jobId}`, alice)).status).toBe(200);
    const other = await call('GET', `/jobs/${jobId}`, bob);
    const missing = await call('GET', `/jobs/missing-${randomUUID().slice(0, 8)}`, bob);
    expect(other.status).toBe(404);
    expect(problem(other)).toEqual(problem(missing));
    expect((await call('GET', `/jobs/${jobId}`, await token('aud', ['auditor']))).status).toBe(200);
    expect((await call('GET', `/jobs/${jobId}`, await token('rev', ['reviewer']))).status).toBe(200);
  });

  it('redacted paths never reach a reader of history: GET /jobs/:id, /jobs/:id/events, /approvals/:job_id, gRPC Get/List/WatchApprovals, logs, GET /audit/events; the standalone\'s tree heads and receipts verify', async () => {
    const reviewer = await token('rita', ['reviewer']);
    const watched: unknown[] = [];
    const watch = grpc.watch({}, reviewer);
    watch.on('data', (change) => watched.push(change));
    watch.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));

    const agent = await token('agent-r', ['submitter']);
    const submitted = await call('POST', '/jobs', agent, {
      topic: 'finance.payment.execute',
      labels: { env: 'production' },
      payload: { amount: 12, card_number: SECRETS.card, iban: SECRETS.iban },
    });
    expect(submitted.status).toBe(202);
    const jobId = submitted.body.job_id as string;
    await eventually(() => watched.length > 0, 'the requested change');
    const seen: string[] = [];
    const approval = await call('GET', `/approvals/${jobId}`, reviewer);
    expect((approval.body.request as { payload: unknown }).payload).toEqual({ amount: 12, card_number: '[REDACTED]', iban: '[REDACTED]' });
    seen.push(approval.text);
    seen.push(JSON.stringify(await grpc.call('GetApproval', { job_id: jobId }, reviewer)));
    seen.push(JSON.stringify(await grpc.call('ListApprovals', {}, reviewer)));
    seen.push((await call('GET', '/approvals', reviewer)).text);

    expect((await call('POST', `/approvals/${jobId}/approve`, reviewer)).body).toMatchObject({ status: 'approved' });
    await eventually(async () => (await call('GET', `/jobs/${jobId}`, agent)).body.state === 'SUCCEEDED', 'the job to succeed', 20_000);
    const done = await call('GET', `/jobs/${jobId}`, agent);
    expect(done.body).toMatchObject({ result: { result: { ran: `default/${jobId}`, token: '[REDACTED]' } } });
    seen.push(done.text);
    const history = await call('GET', `/jobs/${jobId}/events`, await token('aud', ['auditor']));
    const events = history.body.events as { type: string; data: Record<string, unknown> }[];
    expect(events.map((e) => e.type)).toContain('JobCompleted');
    expect((events[0].data.request as { payload: unknown }).payload).toEqual({ amount: 12, card_number: '[REDACTED]', iban: '[REDACTED]' });
    seen.push(history.text);
    seen.push(JSON.stringify(watched));
    watch.cancel();
    seen.push(logs.join('\n'));
    // The worker did get the real values: redaction is for readers of history, not for the work.
    expect(runs.find((r) => r.job_id === jobId)?.payload).toMatchObject({ card_number: SECRETS.card, iban: SECRETS.iban });
    // The auditor's search over the whole log is redacted the same way.
    const audited = await call('GET', '/audit/events?decision=granted', await token('aud', ['auditor']));
    expect(audited.status).toBe(200);
    seen.push((await call('GET', `/audit/events?tenant=default&limit=1000`, await token('aud', ['auditor']))).text);
    for (const text of seen) for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);

    // The standalone keeps the audit tree: its heads and receipts verify with the key set the grants use.
    const trusted = publicKeysOf(testKeys().keys.publicJwks() as never);
    const head = (await call('GET', '/audit/tree-head', await token('aud', ['auditor']))).body as unknown as SignedTreeHead;
    expect(checkTreeHead(head, trusted)).toBeNull();
    let receipt: DecisionReceipt | null = null;
    await eventually(async () => {
      const answer = await call('GET', `/jobs/${jobId}/receipt`, agent);
      receipt = answer.status === 200 ? (answer.body as unknown as DecisionReceipt) : null;
      return receipt !== null && (receipt as DecisionReceipt).receipt.decision === 'granted';
    }, 'the receipt of the grant', 20_000);
    receipt = receipt as unknown as DecisionReceipt;
    expect(receipt.receipt).toMatchObject({ job_id: jobId, decision: 'granted' });
    expect(checkReceipt(receipt, trusted)).toEqual([]);
    const acmeAuditor = await token('aki', ['auditor'], { tenants: ['acme'] });
    expect((await call('GET', `/audit/proof/inclusion?event_id=${receipt.receipt.event_id}`, acmeAuditor)).status).toBe(404);
  });
});
