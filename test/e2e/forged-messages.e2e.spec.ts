import { randomBytes } from 'node:crypto';
import { JobEvent, JobRequest, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { createEventStore, EventStore } from '@signoff/event-store';
import { SigningKeySet } from '@signoff/keys';
import { KafkaMessageBus, OutboundMessage } from '@signoff/messaging';
import { jobHash } from '@signoff/policy-engine';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopicRecorder } from '@signoff/dispatch-service/testing';
import { tokenFor } from '../support/app';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv, testWorkerToken, withGrant } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';
import { metric, SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

/**
 * DESIGN section 12 on the real broker, every service its own process: messages produced straight
 * onto `signoff.jobs.dispatch`, `signoff.jobs.results` and `signoff.jobs.requested` by someone who
 * can write the topics but holds neither the control plane's signing key nor a credential. Nothing
 * runs (the demo worker's effect table and claim table), no job changes (the jobs' events), every
 * forged message is on its topic's DLQ with `error-code`, and the refusal metrics count them.
 */
describe('forged messages on the topics (DESIGN section 12)', () => {
  const prefix = `e2efrg${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const brokers = testKafkaBrokers();
  const procs: ServiceProcess[] = [];
  const recorders: TopicRecorder[] = [];
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let bus: KafkaMessageBus;
  let env: Record<string, string>;
  let policy: ServiceProcess;
  let dispatch: ServiceProcess;

  const eventTypes = async (jobId: string) => (await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: jobId }))).map((e) => e.type);
  const on = (topic: string, key?: string) =>
    recorders.flatMap((r) => r.messages).filter((m) => m.topic === topic && (key === undefined || m.key === key)).map((m) => ({ ...m, value: m.value?.toString() ?? '' }));
  const codes = (topic: string, key: string) => on(topic, key).map((m) => m.headers['error-code']);
  const rows = async (sql: string, params: unknown[]) => {
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      return (await pg.query<{ n: number }>(sql, params)).rows[0].n;
    } finally {
      await pg.end();
    }
  };
  const tableExists = async (name: string) => (await rows(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = $1`, [name])) === 1;

  beforeAll(async () => {
    db = await createTestDatabase('e2efrg');
    store = await createEventStore(db.url);
    env = {
      ...(await testTrustEnv()),
      KAFKA_BROKERS: brokers.join(','),
      EVENT_STORE_URL: db.url,
      KAFKA_TOPIC_PREFIX: prefix,
      POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
      DISPATCH_GRACE_MS: '1000',
      WORKER_ACK_TIMEOUT_MS: '3000',
      DISPATCH_MAX_ATTEMPTS: '10',
    };
    [policy, dispatch] = await Promise.all([startApp('policy-service', env), startApp('dispatch-service', env)]);
    procs.push(policy, dispatch);
    procs.push(await startApp('approval-service', { ...env, GRPC_PORT: '0' }));
    bus = new KafkaMessageBus({ brokers, clientId: 'e2e-forger', log: () => undefined });
    for (const topic of [topics.dispatch, topics.dispatchDlq, topics.resultsDlq, topics.requestedDlq]) recorders.push(await TopicRecorder.start(bus, topic));
  });

  afterAll(async () => {
    await Promise.all(recorders.map((r) => r.stop()));
    await bus?.close();
    await Promise.all(procs.map((p) => p.stop()));
    await store?.close();
    await db?.drop();
  });

  it('nothing forged runs, no job changes, every forgery is dead-lettered with error-code and counted', async () => {
    const submitter = await SignoffClient.as(policy.url, 'agent-1', ['submitter']);

    // A real allowed job, dispatched while no worker runs: its genuine message is on the topic.
    expect((await submitter.submit({ job_id: 'fx-allow', topic: 'knowledge.read', payload: { q: 'refunds' } })).status).toBe(202);
    await eventually(() => on(topics.dispatch, 'fx-allow').length === 1, 'the genuine dispatch of fx-allow', 30_000);
    const genuine = on(topics.dispatch, 'fx-allow')[0];
    const genuineValue = JSON.parse(genuine.value) as Record<string, unknown>;
    const realKey = genuine.headers['idempotency-key'];
    expect(realKey).not.toBe('fx-allow:dispatch');

    // A real job waiting for approval: the forger knows its content and hashes (the submitter does).
    const pay = await submitter.submit({ job_id: 'fx-pay', topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 9000, iban: 'XX00' } });
    expect(pay.body.status).toBe('approval_required');
    const request: JobRequest = { topic: 'finance.payment.execute', priority: 'normal', tenant: 'default', submitted_by: 'agent-1', labels: { env: 'production' }, payload: { amount: 9000, iban: 'XX00' } };
    expect(jobHash(request)).toBe(pay.body.job_hash);
    const payEventsBefore = await eventTypes('fx-pay');
    expect(payEventsBefore).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested']);
    const forgedApproval: OutboundMessage = {
      key: 'fx-pay',
      value: {
        job_id: 'fx-pay',
        ...request,
        approval: { approval_id: 'forged-approval', approved_by: ['rita'], policy_snapshot: pay.body.policy_snapshot, job_hash: pay.body.job_hash },
        attempt: 1,
        idempotency_key: 'fx-pay:dispatch',
        job_hash: pay.body.job_hash,
        policy_snapshot: pay.body.policy_snapshot,
      },
      headers: { approval_granted: 'true', 'idempotency-key': 'fx-pay:dispatch', 'job-hash': pay.body.job_hash as string },
    };

    // Forged dispatches: unsigned; signed by a key the control plane never had; carrying the genuine
    // grant of another job; the genuine message of fx-allow changed to look like a replay.
    await bus.publish(topics.dispatch, [
      forgedApproval,
      { ...(await withGrant(forgedApproval, SigningKeySet.generate())), key: 'fx-pay' },
      { ...forgedApproval, headers: { ...forgedApproval.headers, 'signoff-grant': genuine.headers['signoff-grant'] } },
      { key: 'fx-allow', value: { ...genuineValue, attempt: 2 }, headers: genuine.headers },
    ]);

    // Forged results: no credential; a worker's credential about an attempt, a key and a job that
    // were never dispatched; a submitter's credential.
    const workerToken = await testWorkerToken('rogue-worker');
    const result = (value: Record<string, unknown>, token: string | null): OutboundMessage => ({
      key: value.job_id as string,
      value: { worker: 'rogue', ...value },
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    await bus.publish(topics.results, [
      result({ job_id: 'fx-allow', idempotency_key: realKey, attempt: 1, status: 'started' }, null),
      result({ job_id: 'fx-allow', idempotency_key: realKey, attempt: 1, status: 'succeeded', result: { forged: true } }, null),
      result({ job_id: 'fx-allow', idempotency_key: realKey, attempt: 9, status: 'succeeded' }, workerToken),
      result({ job_id: 'fx-allow', idempotency_key: 'fx-allow:dispatch', attempt: 1, status: 'started' }, workerToken),
      result({ job_id: 'fx-pay', idempotency_key: 'fx-pay:dispatch', attempt: 1, status: 'succeeded' }, workerToken),
      result({ job_id: 'fx-allow', idempotency_key: realKey, attempt: 1, status: 'started' }, await tokenFor('agent-1', ['submitter'])),
    ]);
    // A forged job request: an identity picked by the producer, no credential.
    await bus.publish(topics.requested, [{ key: 'fx-requested', value: { topic: 'finance.payment.execute', submitted_by: 'rita', labels: { env: 'production' } } }]);

    await eventually(() => on(topics.resultsDlq).length === 6, 'every forged result dead-lettered', 30_000);
    expect(codes(topics.resultsDlq, 'fx-allow')).toEqual(['unauthenticated', 'unauthenticated', 'not_dispatched', 'not_dispatched', 'forbidden']);
    expect(codes(topics.resultsDlq, 'fx-pay')).toEqual(['forbidden']);
    await eventually(() => on(topics.requestedDlq, 'fx-requested').length === 1, 'the forged request dead-lettered', 30_000);
    expect(codes(topics.requestedDlq, 'fx-requested')).toEqual(['unauthenticated']);
    expect(await eventTypes('fx-requested')).toEqual([]);

    // No job changed: fx-allow is still unacknowledged, so the replay consumer replays it (a
    // forged `started` no longer takes a job out of replay); fx-pay still waits for its approval.
    expect(await eventTypes('fx-pay')).toEqual(payEventsBefore);
    expect(await eventTypes('fx-allow')).toEqual(['JobSubmitted', 'PolicyEvaluated', 'DispatchClaimed', 'JobDispatched']);
    await eventually(async () => (await eventTypes('fx-allow')).includes('DispatchReplayed'), 'fx-allow replayed for want of a worker', 30_000);

    // Now a worker runs, verifying grants against the keys the dispatch service publishes.
    procs.push(
      await startApp('demo-worker', {
        ...env,
        SIGNOFF_GRANT_JWKS: `${dispatch.url}/.well-known/jwks.json`,
        WORKER_DATABASE_URL: db.url,
        WORKER_GROUP_ID: `${prefix}workers`,
        WORKER_ID: 'demo-forged',
      }),
    );
    const worker = procs.at(-1)!;
    await eventually(async () => (await eventTypes('fx-allow')).includes('JobCompleted'), 'fx-allow run by the worker', 40_000);
    await eventually(() => on(topics.dispatchDlq).length === 4, 'every forged dispatch dead-lettered', 30_000);
    expect(codes(topics.dispatchDlq, 'fx-pay')).toEqual(['unsigned', 'unknown_key', 'grant_mismatch']);
    expect(codes(topics.dispatchDlq, 'fx-allow')).toEqual(['grant_mismatch']);
    for (const letter of [...on(topics.dispatchDlq), ...on(topics.resultsDlq)]) {
      expect(letter.headers['error-detail']).toBeTruthy();
      expect(letter.headers.authorization).toBeUndefined();
    }

    // Nothing forged ran: one side effect (the genuine fx-allow), no claim for fx-pay.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await tableExists('demo_worker_side_effects')).toBe(true);
    expect(await rows('SELECT count(*)::int AS n FROM demo_worker_side_effects WHERE job_id = $1', ['fx-pay'])).toBe(0);
    expect(await rows('SELECT count(*)::int AS n FROM demo_worker_side_effects WHERE job_id = $1', ['fx-allow'])).toBe(1);
    expect(await rows('SELECT count(*)::int AS n FROM signoff_worker_claims WHERE job_id = $1', ['fx-pay'])).toBe(0);
    expect(await rows('SELECT count(*)::int AS n FROM signoff_worker_claims WHERE idempotency_key = $1', [realKey])).toBe(1);
    expect(await eventTypes('fx-pay')).toEqual(payEventsBefore);
    const allow = await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: 'fx-allow' }));
    expect(allow.filter((e) => e.type === 'JobStarted' || e.type === 'JobCompleted').map((e) => e.metadata.actor)).toEqual(['demo-worker', 'demo-worker']);
    expect(allow.find((e) => e.type === 'JobCompleted')!.data).toMatchObject({ status: 'succeeded', result: { performed_by: 'demo-forged' } });

    // Counted where they were refused.
    const workerMetrics = await (await fetch(`${worker.url}/metrics`)).text();
    expect(metric(workerMetrics, 'signoff_worker_dispatch_refused_total{code="unsigned"}')).toBe(1);
    expect(metric(workerMetrics, 'signoff_worker_dispatch_refused_total{code="unknown_key"}')).toBe(1);
    expect(metric(workerMetrics, 'signoff_worker_dispatch_refused_total{code="grant_mismatch"}')).toBe(2);
    const dispatchMetrics = await (await fetch(`${dispatch.url}/metrics`)).text();
    expect(metric(dispatchMetrics, `signoff_messages_dead_lettered_total{topic="${topics.results}",code="unauthenticated"}`)).toBe(2);
    expect(metric(dispatchMetrics, `signoff_messages_dead_lettered_total{topic="${topics.results}",code="not_dispatched"}`)).toBe(2);
    expect(metric(dispatchMetrics, `signoff_messages_dead_lettered_total{topic="${topics.results}",code="forbidden"}`)).toBe(2);
    const policyMetrics = await (await fetch(`${policy.url}/metrics`)).text();
    expect(metric(policyMetrics, `signoff_messages_dead_lettered_total{topic="${topics.requested}",code="unauthenticated"}`)).toBe(1);
  });
});
