import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { ThrottleCounter, ThrottleHit } from '@signoff/policy-engine';
import { connectMessageBus, mintToken } from '@signoff/runtime';
import { authHeader, startTestApp, testConfig, tokenFor } from '../../../test/support/app';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { PolicyServiceModule } from './app.module';

const THROTTLE_POLICY = `
version: v1
default: deny
rules:
  - id: api-burst
    when: {topic: api.call}
    decision: throttle
    throttle: {limit: 2, per: 1h, key: submitted_by}
  - id: api-allow
    when: {topic: api.call}
    decision: allow
  - id: allow-readonly
    when: {topic: knowledge.read}
    decision: allow
  - id: require-approval-prod-finance
    when: {topic: finance.payment.execute, env: production}
    decision: require_human
    redact: [payload.card_number]
`;

type Started = Awaited<ReturnType<typeof startTestApp>>;

describe('policy service on real PostgreSQL and Kafka', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Started;
  let prefix: string;
  let submitter: Record<string, string>;
  let admin: Record<string, string>;

  const post = (path: string, body: unknown, headers: Record<string, string> = submitter) =>
    fetch(`${svc.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = (path: string, headers: Record<string, string> = submitter) => fetch(`${svc.url}/api/v1${path}`, { headers });

  beforeAll(async () => {
    db = await createTestDatabase('policysvc');
    prefix = `t${randomUUID().slice(0, 8)}.`;
    const config = testConfig({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix, POLICY_PATH: 'policies/default.yaml' });
    svc = await startTestApp(PolicyServiceModule.forRoot(config));
    await connectMessageBus(svc.app, config, `${prefix}policy-service`);
    await svc.app.startAllMicroservices();
    submitter = await authHeader('agent-7', ['submitter']);
    admin = await authHeader('root', ['admin']);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('202 accepted for an allowed job, stored before the answer, and readable with GET /jobs/:id', async () => {
    const res = await post('/jobs', { topic: 'knowledge.read', payload: { q: 'refund policy' } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ status: 'accepted', decision: 'allow', rule_id: 'allow-readonly' });
    expect(body.policy_snapshot).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(body.job_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const events = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: body.job_id }));
    expect(events.map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated']);
    const job = await get(`/jobs/${body.job_id}`);
    expect(job.status).toBe(200);
    expect(await job.json()).toMatchObject({ job_id: body.job_id, topic: 'knowledge.read', state: 'PENDING', decision: 'allow' });
  });

  it('202 approval_required with an approval_ref for a job that needs a human', async () => {
    const res = await post('/jobs', { topic: 'finance.payment.execute', priority: 'high', labels: { env: 'production' }, payload: { amount: 1200 } });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ status: 'approval_required', decision: 'require_human', rule_id: 'require-approval-prod-finance' });
    expect(body.approval_ref).toBeTruthy();
    expect(((await (await get(`/jobs/${body.job_id}`)).json()) as { state: string }).state).toBe('APPROVAL_REQUIRED');
  });

  it('403 policy_denied (recorded as DENIED for audit) when no rule allows the job', async () => {
    const res = await post('/jobs', { job_id: 'denied-1', topic: 'data.delete' });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'policy_denied', rule_id: null, job_id: 'denied-1' });
    expect(((await (await get('/jobs/denied-1')).json()) as { state: string }).state).toBe('DENIED');
  });

  it('an identical resubmission gets the original answer; different content under the same id is 409 job_request_changed', async () => {
    const job = { job_id: `idem-${randomUUID()}`, topic: 'knowledge.read', labels: { a: '1' }, payload: { x: [1, 2] } };
    const first = await post('/jobs', job);
    const again = await post('/jobs', { payload: { x: [1, 2] }, labels: { a: '1' }, topic: 'knowledge.read', job_id: job.job_id });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(await first.json());
    const changed = await post('/jobs', { ...job, payload: { x: [1, 3] } });
    expect(changed.status).toBe(409);
    expect(await changed.json()).toMatchObject({ code: 'job_request_changed' });
    const events = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: job.job_id }));
    expect(events).toHaveLength(2);
  });

  it('concurrent submissions of one new job id record it once and all get the same answer', async () => {
    const job = { job_id: `race-${randomUUID()}`, topic: 'knowledge.read' };
    const answers = await Promise.all(Array.from({ length: 10 }, () => post('/jobs', job)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    const bodies = await Promise.all(answers.map((a) => a.json()));
    for (const b of bodies) expect(b).toEqual(bodies[0]);
    expect(await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: job.job_id }))).toHaveLength(2);
  });

  it('400 invalid_request with per-field errors, 400 reserved_label, 400 for submitted_by over HTTP and for bad JSON', async () => {
    const bad = await post('/jobs', { topic: 7, labels: { env: 3 }, payload: {}, extra: 'x' });
    expect(bad.status).toBe(400);
    const problem = (await bad.json()) as { code: string; errors: { field: string }[] };
    expect(problem.code).toBe('invalid_request');
    expect(problem.errors.map((e) => e.field)).toEqual(expect.arrayContaining(['topic', 'labels.env', 'extra']));
    const reserved = await post('/jobs', { topic: 'knowledge.read', labels: { approval_granted: 'true' } });
    expect(reserved.status).toBe(400);
    expect(await reserved.json()).toMatchObject({ code: 'reserved_label', labels: ['approval_granted'] });
    const dotted = await post('/jobs', { topic: 'knowledge.read', labels: { 'signoff.approved': 'yes' } });
    expect(((await dotted.json()) as { code: string }).code).toBe('reserved_label');
    const spoof = await post('/jobs', { topic: 'knowledge.read', submitted_by: 'someone-else' });
    expect(spoof.status).toBe(400);
    const malformed = await post('/jobs', '{"topic": ');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { code: string }).code).toBe('invalid_request');
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const tooDeep = await post('/jobs', { topic: 'knowledge.read', payload: deep });
    expect(tooDeep.status).toBe(400);
  });

  it('GET /jobs/:id with an id no job can have is 404 not_found, not a store error', async () => {
    for (const id of ['%00', encodeURIComponent('a\u0000b'), 'x'.repeat(300), encodeURIComponent('sp ace')]) {
      const res = await get(`/jobs/${id}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { code: string }).code).toBe('not_found');
    }
    // The longest id POST /jobs accepts (200 characters) is readable back.
    const longId = 'L'.repeat(200);
    expect((await post('/jobs', { job_id: longId, topic: 'knowledge.read' })).status).toBe(202);
    expect((await get(`/jobs/${longId}`)).status).toBe(200);
  });

  it('the same job_id in another tenant is another job: 202 with its own hash, no 409, no trace of the other; jobs.evaluated names each tenant', async () => {
    const kafka = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `probe-${randomUUID()}` });
    const evaluated: { key: string; value: { job_id: string; tenant?: string; decision: string } }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}jobs.evaluated`], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void evaluated.push({ key: message.key!.toString(), value: JSON.parse(message.value!.toString()) }) });
    try {
      const jobId = `twin-${randomUUID()}`;
      const agent = await authHeader('agent-multi', ['submitter'], { tenants: ['acme', 'globex'] });
      const first = await post('/jobs', { job_id: jobId, tenant: 'acme', topic: 'knowledge.read', payload: { who: 'acme' } }, agent);
      const second = await post('/jobs', { job_id: jobId, tenant: 'globex', topic: 'knowledge.read', payload: { who: 'globex' } }, agent);
      expect(first.status).toBe(202);
      expect(second.status).toBe(202);
      const [a, g] = [(await first.json()) as Record<string, string>, (await second.json()) as Record<string, string>];
      expect(a.job_hash).not.toBe(g.job_hash);
      expect(JSON.stringify(g)).not.toContain(a.job_hash);
      expect((await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'acme', jobId }))).map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated']);
      expect((await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'globex', jobId }))).map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated']);
      expect(await (await get(`/jobs/${jobId}?tenant=acme`, agent)).json()).toMatchObject({ job_hash: a.job_hash });
      expect(await (await get(`/jobs/${jobId}?tenant=globex`, agent)).json()).toMatchObject({ job_hash: g.job_hash });
      // Two tenants in the token and no ?tenant=: the default tenant, where this id names nothing.
      expect((await get(`/jobs/${jobId}`, agent)).status).toBe(404);
      const acmeOnly = await authHeader('agent-multi', ['submitter'], { tenants: ['acme'] });
      const probe = await get(`/jobs/${jobId}?tenant=globex`, acmeOnly);
      expect(probe.status).toBe(404);
      expect(await probe.text()).not.toContain(g.job_hash.slice(7));
      await eventually(() => evaluated.filter((m) => m.key === jobId).length === 2, 'both evaluations announced', 20_000);
      expect(evaluated.filter((m) => m.key === jobId).map((m) => m.value.tenant).sort()).toEqual(['acme', 'globex']);
    } finally {
      await consumer.disconnect();
    }
  });

  it('a stream written before job ids were scoped by tenant (job-<id> holding another tenant\'s job) is no job of the default tenant: never read, never appended to', async () => {
    const jobId = `legacy-${randomUUID()}`;
    const request = { topic: 'knowledge.read', priority: 'normal', tenant: 'acme', submitted_by: 'agent-7', labels: {}, payload: { who: 'acme' } };
    const meta = { correlationId: 'c', causationId: 'c', actor: 'agent-7', at: new Date().toISOString() };
    await svc.app.get(EventStore).appendToStream(
      toJobStreamId({ tenant: 'default', jobId }),
      [
        { id: randomUUID(), type: 'JobSubmitted', data: { job_id: jobId, request, job_hash: `sha256:${'a'.repeat(64)}` }, metadata: meta },
        { id: randomUUID(), type: 'PolicyEvaluated', data: { job_id: jobId, decision: 'allow', rule_id: 'allow-readonly', reason: '', policy_snapshot: 's', policy_version: 'v1' }, metadata: meta },
      ],
      { expectedRevision: 'no_stream' },
    );
    expect((await get(`/jobs/${jobId}`, admin)).status).toBe(404);
    const resubmitted = await post('/jobs', { job_id: jobId, topic: 'knowledge.read' });
    expect(resubmitted.status).toBe(409);
    expect(await resubmitted.text()).not.toMatch(/acme|aaaa/);
    expect(await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId }))).toHaveLength(2);
  });

  it('413 payload_too_large above 1 MiB', async () => {
    const res = await post('/jobs', { topic: 'knowledge.read', payload: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large' });
  });

  it('401 without a token, 403 for a role that may not submit, 403 for a tenant outside the token', async () => {
    expect((await post('/jobs', { topic: 'knowledge.read' }, {})).status).toBe(401);
    const reviewer = await authHeader('rita', ['reviewer']);
    const forbidden = await post('/jobs', { topic: 'knowledge.read' }, reviewer);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { code: string }).code).toBe('forbidden');
    const scoped = await authHeader('agent-acme', ['submitter'], { tenants: ['acme'] });
    expect((await post('/jobs', { topic: 'knowledge.read', tenant: 'globex' }, scoped)).status).toBe(403);
    const ok = await post('/jobs', { topic: 'knowledge.read', tenant: 'acme' }, scoped);
    expect(ok.status).toBe(202);
    const jobId = ((await ok.json()) as { job_id: string }).job_id;
    const otherTenantReader = await authHeader('auditor-globex', ['auditor'], { tenants: ['globex'] });
    for (const tenant of ['', '?tenant=acme']) {
      const hidden = await get(`/jobs/${jobId}${tenant}`, otherTenantReader);
      expect(hidden.status).toBe(404);
      expect(await hidden.json()).toMatchObject({ code: 'not_found' });
    }
    expect((await get(`/jobs/${jobId}`, scoped)).status).toBe(200);
  });

  it('PUT /policy refuses an invalid bundle with line and column, activates a valid one, and a second instance serves it within 1 s', async () => {
    const invalid = await fetch(`${svc.url}/api/v1/policy`, {
      method: 'PUT',
      headers: { 'content-type': 'application/yaml', ...admin },
      body: 'version: v1\nrules:\n  - id: a\n    when: {topic: x}\n    decision: maybe\n',
    });
    expect(invalid.status).toBe(400);
    const problem = (await invalid.json()) as { code: string; errors: { line: number; column: number }[] };
    expect(problem.code).toBe('invalid_policy');
    expect(problem.errors[0]).toMatchObject({ line: 5 });
    expect(problem.errors[0].column).toBeGreaterThan(0);
    const badJson = await fetch(`${svc.url}/api/v1/policy`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...admin },
      body: '{\n  "version": "v1",\n  "rules": [{"id": "a", "when": {"topic": "x"}, "decision": "nope"}]\n}',
    });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { errors: { line: number }[] }).errors[0].line).toBe(3);
    expect((await fetch(`${svc.url}/api/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml', ...submitter }, body: THROTTLE_POLICY })).status).toBe(403);

    const second = await startTestApp(
      PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix })),
    );
    try {
      const before = (await (await fetch(`${second.url}/api/v1/policy`, { headers: admin })).json()) as { snapshot: string; version: string; activation: number };
      const put = await fetch(`${svc.url}/api/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/yaml', ...admin }, body: THROTTLE_POLICY });
      expect(put.status).toBe(200);
      const { snapshot, version, activation } = (await put.json()) as { snapshot: string; version: string; activation: number };
      expect(snapshot).not.toBe(before.snapshot);
      // `version` is the bundle's own; `activation` counts activations (issue 16: `version` was `v<activation>`).
      expect(version).toBe('v1');
      expect(before.version).toBe('v1');
      expect(activation).toBe(before.activation + 1);
      const activatedAt = Date.now();
      let seen = '';
      while (Date.now() - activatedAt < 1000 && seen !== snapshot) {
        seen = ((await (await fetch(`${second.url}/api/v1/policy`, { headers: admin })).json()) as { snapshot: string }).snapshot;
      }
      expect(seen).toBe(snapshot);
    } finally {
      await second.close();
    }
  });

  it('429 throttled with Retry-After once the shared counter is over the limit, and nothing stored', async () => {
    const agent = await authHeader(`agent-${randomUUID()}`, ['submitter']);
    expect((await post('/jobs', { topic: 'api.call' }, agent)).status).toBe(202);
    expect((await post('/jobs', { topic: 'api.call' }, agent)).status).toBe(202);
    const third = await post('/jobs', { job_id: `thr-${randomUUID()}`, topic: 'api.call' }, agent);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    const problem = (await third.json()) as { code: string; rule_id: string; job_id?: string };
    expect(problem).toMatchObject({ code: 'throttled', rule_id: 'api-burst' });
  });

  it('POST /policy/evaluate is a dry run: a decision, no job, no throttle count', async () => {
    const agent = await authHeader(`agent-${randomUUID()}`, ['submitter']);
    for (let i = 0; i < 5; i++) {
      const res = await post('/policy/evaluate', { topic: 'api.call' }, agent);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ decision: 'allow', rule_id: 'api-allow' });
    }
    expect((await post('/jobs', { topic: 'api.call' }, agent)).status).toBe(202);
  });

  it('Kafka ingress: valid requests are recorded and announced on jobs.evaluated; bad ones go to the DLQ with error headers; duplicates are idempotent', async () => {
    const bus = svc.app.get(MessageBus);
    const kafka = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `probe-${randomUUID()}` });
    const seen: { topic: string; key: string; headers: Record<string, string>; value: string }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}jobs.requested.dlq`, `${prefix}jobs.evaluated`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) =>
        void seen.push({
          topic,
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }),
    });
    try {
      const good = `k-${randomUUID()}`;
      const pipeline = { authorization: `Bearer ${await tokenFor('pipeline-1', ['submitter'])}` };
      await bus.publish(`${prefix}jobs.requested`, [
        { key: good, value: { topic: 'knowledge.read' }, headers: pipeline },
        // Naming the credential's own subject is allowed (the submitter is the credential's anyway).
        { key: good, value: { topic: 'knowledge.read', submitted_by: 'pipeline-1' }, headers: pipeline },
        { key: 'bad-json', value: Buffer.from('{"topic":'), headers: pipeline },
        { key: 'no-credential', value: { topic: 'knowledge.read', submitted_by: 'pipeline-1' } },
        { key: 'smuggle', value: { topic: 'knowledge.read', labels: { approval_granted: 'true' } }, headers: pipeline },
        { key: 'denied-k', value: { topic: 'data.delete' }, headers: pipeline },
      ]);
      await eventually(() => seen.filter((m) => m.topic.endsWith('.dlq')).length >= 3 && seen.some((m) => m.topic.endsWith('evaluated') && m.key === good), 'DLQ entries and the evaluated notice', 30_000);
      const dlq = seen.filter((m) => m.topic.endsWith('.dlq'));
      expect(Object.fromEntries(dlq.map((m) => [m.key, m.headers['error-code']]))).toEqual({
        'bad-json': 'invalid_request',
        'no-credential': 'unauthenticated',
        smuggle: 'reserved_label',
      });
      for (const m of dlq) expect(m.headers['error-detail']).toBeTruthy();
      // A producer's credential never reaches the dead-letter topic.
      for (const m of dlq) expect(m.headers.authorization).toBeUndefined();
      const stored = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: good }));
      expect(stored.map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated']);
      expect((stored[0].data as { request: { submitted_by: string } }).request.submitted_by).toBe('pipeline-1');
      await eventually(() => seen.some((m) => m.key === 'denied-k' && m.topic.endsWith('evaluated')), 'the denied job announced', 10_000);
      const denied = JSON.parse(seen.find((m) => m.key === 'denied-k' && m.topic.endsWith('evaluated'))!.value) as { decision: string };
      expect(denied.decision).toBe('deny');
      expect(seen.filter((m) => m.topic.endsWith('evaluated') && m.key === good)).toHaveLength(1);
    } finally {
      await consumer.disconnect();
    }
  });
  it('Kafka ingress takes the submitter from a verified credential (DESIGN section 12): forged identities and tenants are dead-lettered, counted, never stored', async () => {
    const bus = svc.app.get(MessageBus);
    const store = svc.app.get(EventStore);
    const kafka = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `probe-${randomUUID()}` });
    const dlq = new Map<string, string>();
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}jobs.requested.dlq`], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dlq.set(message.key!.toString(), String(message.headers!['error-code'])) });
    const bearer = async (sub: string, roles: Parameters<typeof tokenFor>[1], extra: { tenants?: string[] } = {}) => ({ authorization: `Bearer ${await tokenFor(sub, roles, extra)}` });
    const refused = async (code: string) => {
      const line = (await (await fetch(`${svc.url}/metrics`)).text()).split('\n').find((l) => l.startsWith(`signoff_messages_dead_lettered_total{topic="${prefix}jobs.requested",code="${code}"} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const before = { unauthenticated: await refused('unauthenticated'), forbidden: await refused('forbidden') };
    const id = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
    const ids = { own: id('own'), mallory: id('mallory'), reviewer: id('reviewer'), tenant: id('tenant'), forged: id('forged'), none: id('none') };
    const payment = { topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 5 } };
    try {
      await bus.publish(`${prefix}jobs.requested`, [
        // The identity is the credential's: a producer cannot name another submitter (and so cannot
        // get around the self-approval rule by submitting as somebody else).
        { key: ids.own, value: payment, headers: await bearer('agent-7', ['submitter']) },
        { key: ids.mallory, value: { ...payment, submitted_by: 'rita' }, headers: await bearer('agent-7', ['submitter']) },
        { key: ids.reviewer, value: payment, headers: await bearer('rita', ['reviewer']) },
        { key: ids.tenant, value: { ...payment, tenant: 'globex' }, headers: await bearer('agent-7', ['submitter'], { tenants: ['acme'] }) },
        { key: ids.forged, value: payment, headers: { authorization: `Bearer ${await mintToken('not-the-secret-not-the-secret-0123456789', { sub: 'agent-7', roles: ['submitter'] })}` } },
        { key: ids.none, value: { ...payment, submitted_by: 'agent-7', tenant: 'globex' } },
      ]);
      await eventually(() => [ids.mallory, ids.reviewer, ids.tenant, ids.forged, ids.none].every((k) => dlq.has(k)), 'every forgery dead-lettered', 30_000);
      expect(Object.fromEntries([ids.mallory, ids.reviewer, ids.tenant, ids.forged, ids.none].map((k) => [k.split('-')[0], dlq.get(k)]))).toEqual({
        mallory: 'invalid_request',
        reviewer: 'forbidden',
        tenant: 'forbidden',
        forged: 'unauthenticated',
        none: 'unauthenticated',
      });
      await eventually(async () => (await store.readStream(toJobStreamId({ tenant: 'default', jobId: ids.own }))).length > 0, 'the authenticated request stored', 10_000);
      const [submitted] = await store.readStream(toJobStreamId({ tenant: 'default', jobId: ids.own }));
      expect(submitted.data).toMatchObject({ request: { submitted_by: 'agent-7' } });
      expect(submitted.metadata).toMatchObject({ actor: 'agent-7' });
      for (const k of [ids.mallory, ids.reviewer, ids.tenant, ids.forged, ids.none]) expect(await store.readStream(toJobStreamId({ tenant: 'default', jobId: k }))).toEqual([]);
      expect(await refused('unauthenticated')).toBe(before.unauthenticated + 2);
      expect(await refused('forbidden')).toBe(before.forbidden + 2);
    } finally {
      await consumer.disconnect();
    }
  });

  it('KAFKA_INGRESS_TRUSTED=true (a trusted network): a request without a credential is taken with the submitted_by of its body', async () => {
    const trustedPrefix = `t${randomUUID().slice(0, 8)}.`;
    const config = testConfig({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC_PREFIX: trustedPrefix, POLICY_PATH: 'policies/default.yaml', KAFKA_INGRESS_TRUSTED: 'true' });
    const trusted = await startTestApp(PolicyServiceModule.forRoot(config));
    try {
      await connectMessageBus(trusted.app, config, `${trustedPrefix}policy-service`);
      await trusted.app.startAllMicroservices();
      const key = `trusted-${randomUUID().slice(0, 8)}`;
      await trusted.app.get(MessageBus).publish(`${trustedPrefix}jobs.requested`, [{ key, value: { topic: 'knowledge.read', submitted_by: 'pipeline-9' } }]);
      const store = trusted.app.get(EventStore);
      await eventually(async () => (await store.readStream(toJobStreamId({ tenant: 'default', jobId: key }))).length > 0, 'the trusted request stored', 20_000);
      expect((await store.readStream(toJobStreamId({ tenant: 'default', jobId: key })))[0].data).toMatchObject({ request: { submitted_by: 'pipeline-9' } });
    } finally {
      await trusted.close();
    }
  });

  it('every stored event reaches signoff.audit once, as a CloudEvent 1.0 with subject = job id', async () => {
    const res = await post('/jobs', { topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { card_number: '4111' } });
    const { job_id } = (await res.json()) as { job_id: string };
    const stored = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: job_id }));
    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `audit-${randomUUID()}` });
    const seen: Record<string, unknown>[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}audit`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(JSON.parse(message.value!.toString()) as Record<string, unknown>) });
    try {
      await eventually(() => seen.filter((e) => e.subject === job_id).length >= stored.length, 'the job\'s audit events', 20_000);
      await new Promise((r) => setTimeout(r, 300));
      const mine = seen.filter((e) => e.subject === job_id);
      expect(mine.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      expect(mine.map((e) => e.type)).toEqual(['signoff.job.submitted', 'signoff.policy.evaluated', 'signoff.approval.requested']);
      for (const e of mine) expect(e).toMatchObject({ specversion: '1.0', source: '/signoff/jobs', actor: 'agent-7' });
      // The deciding rule's `redact` paths are redacted from the audit stream (the store keeps the original).
      expect((mine[0].data as { request: { payload: unknown } }).request.payload).toEqual({ card_number: '[REDACTED]' });
      expect((stored[0].data as { request: { payload: unknown } }).request.payload).toEqual({ card_number: '4111' });
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('policy service failure modes', () => {
  it('503 policy_unavailable when evaluation exceeds its timeout, and nothing is stored', async () => {
    const db = await createTestDatabase('policyslow');
    class HangingCounter extends ThrottleCounter {
      hit(): Promise<ThrottleHit> {
        return new Promise(() => undefined);
      }
    }
    const svc = await startTestApp(
      PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url, POLICY_PATH: 'policies/examples/throttle.yaml', POLICY_EVALUATION_TIMEOUT_MS: '300' }), {
        throttleCounter: new HangingCounter(),
      }),
    );
    try {
      const headers = { 'content-type': 'application/json', ...(await authHeader('agent', ['submitter'])) };
      const res = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ job_id: 'slow-1', topic: 'customer.notify' }) });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ code: 'policy_unavailable' });
      expect(await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId: 'slow-1' }))).toEqual([]);
    } finally {
      await svc.close();
      await db.drop();
    }
  });

  it('503 store_unavailable (never a 2xx) when the event store is gone', async () => {
    const db = await createTestDatabase('policystore');
    const svc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url })));
    try {
      const headers = { 'content-type': 'application/json', ...(await authHeader('agent', ['submitter'])) };
      expect((await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ topic: 'knowledge.read' }) })).status).toBe(202);
      await db.drop();
      const res = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ topic: 'knowledge.read' }) });
      expect(res.status).toBe(503);
      const problem = (await res.json()) as { code: string; detail: string };
      expect(problem).toMatchObject({ code: 'store_unavailable', detail: 'the event store is unavailable; retry shortly' });
      // The driver's text (server messages, SQL states) goes to the log, never into an answer.
      expect(JSON.stringify(problem)).not.toMatch(/SQLSTATE|database|terminat|ECONN|does not exist/i);
      const ready = await fetch(`${svc.url}/health/ready`);
      expect(ready.status).toBe(503);
    } finally {
      await svc.close();
      const c = new Client({ connectionString: db.url.replace(/\/[^/]+$/, '/postgres') });
      await c.connect().then(() => c.end()).catch(() => undefined);
    }
  });
});
