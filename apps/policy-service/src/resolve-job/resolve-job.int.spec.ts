import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeader, startTestApp, testConfig } from '../../../../test/support/app';
import { createTestDatabase } from '../../../../test/support/infra';
import { runCli } from '@signoff/cli';
import { PolicyServiceModule } from '../app.module';
import { seedUnknownJob } from '../testing/unknown-job.fixture';

type Started = Awaited<ReturnType<typeof startTestApp>>;

/**
 * The operator's side of UNKNOWN jobs (a worker lost its lease after the side effect began, with
 * no outcome recorded): `GET /api/v1/jobs?state=UNKNOWN` lists them, `POST /api/v1/jobs/:id/resolve`
 * records the decision as JobOutcomeResolved with who and why; the CLI does both over HTTP.
 */
describe('listing and resolving UNKNOWN jobs (policy service, PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Started;
  let commands: JobCommandHandler;
  let store: EventStore;
  let admin: Record<string, string>;

  const get = (path: string, headers: Record<string, string>) => fetch(`${svc.url}/api/v1${path}`, { headers });
  const post = (path: string, body: unknown, headers: Record<string, string> = admin) =>
    fetch(`${svc.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  beforeAll(async () => {
    db = await createTestDatabase('resolve');
    svc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url, POLICY_PATH: 'policies/default.yaml' })));
    commands = svc.app.get(JobCommandHandler);
    store = svc.app.get(EventStore);
    admin = await authHeader('olga', ['admin']);
    await seedUnknownJob(commands, 'unk-1');
    await seedUnknownJob(commands, 'unk-other-tenant', 'globex');
    await seedUnknownJob(commands, 'still-running', 'acme', 'running');
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('GET /jobs?state=UNKNOWN lists the UNKNOWN jobs an admin or auditor may see, with why and since when', async () => {
    const res = await get('/jobs?state=UNKNOWN', admin);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: Array<Record<string, unknown>>; truncated: boolean };
    expect(body.truncated).toBe(false);
    expect(body.items.map((i) => i.job_id)).toEqual(['unk-1', 'unk-other-tenant']);
    expect(body.items[0]).toMatchObject({
      job_id: 'unk-1',
      topic: 'knowledge.read',
      tenant: 'acme',
      state: 'UNKNOWN',
      idempotency_key: 'unk-1:dispatch',
      attempt: 1,
      worker: 'worker-1',
      reported_by: 'worker-2',
      unknown_reason: expect.stringMatching(/expired after its side effect began/),
      unknown_since: expect.any(String),
    });
    // Tenant scope applies; an auditor may read; a submitter or a reviewer may not.
    const acmeAuditor = await authHeader('audrey', ['auditor'], { tenants: ['acme'] });
    expect(((await (await get('/jobs?state=UNKNOWN', acmeAuditor)).json()) as { items: Array<{ job_id: string }> }).items.map((i) => i.job_id)).toEqual(['unk-1']);
    // One tenant of them, on request.
    expect(((await (await get('/jobs?state=UNKNOWN&tenant=globex', admin)).json()) as { items: Array<{ job_id: string }> }).items.map((i) => i.job_id)).toEqual(['unk-other-tenant']);
    expect(((await (await get('/jobs?state=UNKNOWN&tenant=globex', acmeAuditor)).json()) as { items: unknown[] }).items).toEqual([]);
    expect(await (await get('/jobs?state=UNKNOWN&tenant=a%7Cb', admin)).json()).toMatchObject({ code: 'invalid_request', errors: [{ field: 'tenant' }] });
    expect((await get('/jobs?state=UNKNOWN', await authHeader('agent-7', ['submitter']))).status).toBe(403);
    expect((await get('/jobs?state=UNKNOWN', await authHeader('rita', ['reviewer']))).status).toBe(403);
    const other = await get('/jobs?state=RUNNING', admin);
    expect(other.status).toBe(400);
    expect(await other.json()).toMatchObject({ code: 'invalid_request' });
    // The job view says so too.
    expect(await (await get('/jobs/unk-1?tenant=acme', admin)).json()).toMatchObject({ state: 'UNKNOWN', result: { status: 'unknown', reported_by: 'worker-2' } });
  });

  it('POST /jobs/:id/resolve records who decided what and why; the job leaves the list; a repeat is already_resolved', async () => {
    const res = await post('/jobs/unk-1/resolve?tenant=acme', { outcome: 'succeeded', reason: 'the provider shows the transfer under unk-1:dispatch' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ job_id: 'unk-1', status: 'resolved', outcome: 'succeeded', resolved_by: 'olga', state: 'SUCCEEDED' });
    const events = await store.readStream<JobEvent>(toJobStreamId({ tenant: 'acme', jobId: 'unk-1' }));
    const last = events[events.length - 1];
    expect(last).toMatchObject({
      type: 'JobOutcomeResolved',
      data: { job_id: 'unk-1', outcome: 'succeeded', reason: 'the provider shows the transfer under unk-1:dispatch', resolved_by: 'olga' },
      metadata: { actor: 'olga' },
    });
    expect(await (await get('/jobs/unk-1?tenant=acme', admin)).json()).toMatchObject({
      state: 'SUCCEEDED',
      result: { status: 'succeeded', resolution: { resolved_by: 'olga', reason: 'the provider shows the transfer under unk-1:dispatch' } },
    });
    const again = await post('/jobs/unk-1/resolve?tenant=acme', { outcome: 'succeeded', reason: 'clicked twice' });
    expect(await again.json()).toMatchObject({ status: 'already_resolved', resolved_by: 'olga' });
    expect((await store.readStream(toJobStreamId({ tenant: 'acme', jobId: 'unk-1' }))).length).toBe(events.length);
    const contradicting = await post('/jobs/unk-1/resolve?tenant=acme', { outcome: 'failed', reason: 'changed my mind' });
    expect(contradicting.status).toBe(409);
    expect(await contradicting.json()).toMatchObject({ code: 'not_ambiguous', state: 'SUCCEEDED', resolved_outcome: 'succeeded' });
    const listed = (await (await get('/jobs?state=UNKNOWN', admin)).json()) as { items: Array<{ job_id: string }> };
    expect(listed.items.map((i) => i.job_id)).toEqual(['unk-other-tenant']);
  });

  it('refuses what is not an operator decision on an UNKNOWN job it may see', async () => {
    const running = await post('/jobs/still-running/resolve?tenant=acme', { outcome: 'failed', reason: 'looks stuck' });
    expect(running.status).toBe(409);
    expect(await running.json()).toMatchObject({ code: 'not_ambiguous', state: 'RUNNING' });
    const noReason = await post('/jobs/unk-other-tenant/resolve?tenant=globex', { outcome: 'failed' });
    expect(noReason.status).toBe(400);
    expect(await noReason.json()).toMatchObject({ code: 'invalid_request', errors: expect.arrayContaining([expect.objectContaining({ field: 'reason' })]) });
    expect((await post('/jobs/unk-other-tenant/resolve?tenant=globex', { outcome: 'perhaps', reason: 'x' })).status).toBe(400);
    expect((await post('/jobs/nobody/resolve', { outcome: 'failed', reason: 'x' })).status).toBe(404);
    // Job ids are scoped by tenant: without ?tenant= an unscoped admin names the default tenant's job.
    expect((await post('/jobs/unk-other-tenant/resolve', { outcome: 'failed', reason: 'x' })).status).toBe(404);
    const acmeAdmin = await authHeader('olga', ['admin'], { tenants: ['acme'] });
    for (const path of ['/jobs/unk-other-tenant/resolve', '/jobs/unk-other-tenant/resolve?tenant=globex']) {
      const hidden = await post(path, { outcome: 'failed', reason: 'x' }, acmeAdmin);
      expect(hidden.status).toBe(404);
      expect(await hidden.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await post('/jobs/unk-other-tenant/resolve?tenant=globex', { outcome: 'failed', reason: 'x' }, await authHeader('audrey', ['auditor']))).status).toBe(403);
    expect(((await (await get('/jobs/unk-other-tenant?tenant=globex', admin)).json()) as { state: string }).state).toBe('UNKNOWN');
  });

  it('the same job id in two tenants is two jobs: resolving one leaves the other UNKNOWN', async () => {
    await seedUnknownJob(commands, 'twin', 'acme');
    await seedUnknownJob(commands, 'twin', 'globex');
    const res = await post('/jobs/twin/resolve?tenant=globex', { outcome: 'failed', reason: 'globex has no record of it' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ job_id: 'twin', status: 'resolved', outcome: 'failed' });
    expect(((await (await get('/jobs/twin?tenant=globex', admin)).json()) as { state: string }).state).toBe('FAILED');
    expect(((await (await get('/jobs/twin?tenant=acme', admin)).json()) as { state: string }).state).toBe('UNKNOWN');
    const listed = (await (await get('/jobs?state=UNKNOWN', admin)).json()) as { items: Array<{ job_id: string; tenant: string }> };
    expect(listed.items.filter((i) => i.job_id === 'twin').map((i) => i.tenant)).toEqual(['acme']);
  });

  it('the CLI lists and resolves over HTTP: npm run cli -- jobs unknown / jobs resolve ID --outcome … --reason …', async () => {
    await seedUnknownJob(commands, 'unk-cli');
    const io = (token: Record<string, string>) => {
      const lines: string[] = [];
      const errors: string[] = [];
      return {
        lines,
        errors,
        out: (l: string) => lines.push(l),
        err: (l: string) => errors.push(l),
        env: { SIGNOFF_URL: svc.url, SIGNOFF_TOKEN: token.authorization.slice('Bearer '.length) },
        cwd: process.cwd(),
      };
    };
    const listing = io(admin);
    expect(await runCli(['jobs', 'unknown'], listing)).toBe(0);
    expect(listing.lines.some((l) => l.startsWith('unk-cli\t'))).toBe(true);
    expect(listing.errors.join('\n')).toMatch(/job\(s\) with an unknown outcome/);
    const resolving = io(admin);
    expect(await runCli(['jobs', 'resolve', 'unk-cli', '--tenant', 'acme', '--outcome', 'failed', '--reason', 'the provider has no record of it'], resolving)).toBe(0);
    expect(JSON.parse(resolving.lines.join('\n'))).toMatchObject({ job_id: 'unk-cli', status: 'resolved', outcome: 'failed', state: 'FAILED' });
    expect(await runCli(['jobs', 'resolve', 'unk-cli', '--tenant', 'acme', '--outcome', 'maybe', '--reason', 'x'], io(admin))).toBe(2);
    const refused = io(admin);
    expect(await runCli(['jobs', 'resolve', 'still-running', '--tenant', 'acme', '--outcome', 'failed', '--reason', 'x'], refused)).toBe(1);
    expect(refused.lines.join('\n')).toMatch(/not_ambiguous/);
  });
});
