import { randomBytes } from 'node:crypto';
import { apiStateOf, foldJob } from '@signoff/approvals';
import { JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { createEventStore, EventStore } from '@signoff/event-store';
import { KafkaMessageBus } from '@signoff/messaging';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOf, eventTypes, TopicRecorder, waitFor } from '@signoff/dispatch-service/testing';
import { TEST_JWT_SECRET } from '../support/app';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv, testWorkerToken } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';
import { metric, SignoffClient } from '../support/signoff-client';

/**
 * Exactly once at the worker, end to end (issue 10, section 3), each service its own process on
 * the real broker and PostgreSQL:
 * - a `started` report with no worker behind it any more (a worker's genuine, authenticated report,
 *   and then the worker died or its outcome was lost) no longer takes the job out of replay for
 *   good: RUNNING past WORKER_RUN_TIMEOUT_MS is replayed from the log and the next worker runs it
 *   once;
 * - a worker SIGKILLed right after its external, non-idempotent side effect: the next worker finds
 *   the lease lost after the effect began, marks the claim unknown and reports it; the dispatch
 *   service records JobOutcomeUnknown, the job's state is UNKNOWN, it is never run again (one
 *   effect), and an operator lists it and resolves it (JobOutcomeResolved: who, what, why).
 */
describe('UNKNOWN outcomes and RUNNING jobs replayed, distributed', () => {
  const prefix = `e2eunk${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const brokers = testKafkaBrokers();
  const started: ServiceProcess[] = [];
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let pool: Pool;
  let bus: KafkaMessageBus;
  let recorder: TopicRecorder;
  let policy: ServiceProcess;
  let dispatch: ServiceProcess;
  let env: Record<string, string>;

  const stateOf = async (jobId: string) => apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))));
  /** The idempotency key the job's first claim fixed (random: read it from the stream). */
  const keyOf = async (jobId: string) => (await eventsOf(store, jobId, 'DispatchClaimed'))[0].idempotency_key;
  const effects = async (jobId: string): Promise<number> => {
    const exists = await pool.query(`SELECT to_regclass('demo_worker_side_effects') AS t`);
    if (exists.rows[0].t === null) return 0;
    return Number((await pool.query('SELECT count(*)::int AS n FROM demo_worker_side_effects WHERE job_id = $1', [jobId])).rows[0].n);
  };
  const exited = (p: ServiceProcess) =>
    new Promise<NodeJS.Signals | null>((resolve) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) resolve(p.child.signalCode);
      else p.child.once('exit', (_code, signal) => resolve(signal));
    });
  const worker = async (id: string, extra: Record<string, string> = {}) => {
    const p = await startApp('demo-worker', {
      ...env,
      WORKER_DATABASE_URL: db.url,
      WORKER_ID: id,
      WORKER_GROUP_ID: `${prefix}workers-${id}`,
      WORKER_MODE: 'external',
      WORKER_LEASE_MS: '1000',
      LOG_LEVEL: 'info',
      ...extra,
    });
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2eunk');
    store = await createEventStore(db.url);
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    bus = new KafkaMessageBus({ brokers, clientId: 'e2e-unknown', log: () => undefined });
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));
    recorder = await TopicRecorder.start(bus, topics.dispatch);
    env = {
      KAFKA_BROKERS: brokers.join(','),
      EVENT_STORE_URL: db.url,
      KAFKA_TOPIC_PREFIX: prefix,
      ...(await testTrustEnv()),
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
      DISPATCH_GRACE_MS: '1000',
      WORKER_ACK_TIMEOUT_MS: '4000',
      WORKER_RUN_TIMEOUT_MS: '3000',
      DISPATCH_MAX_ATTEMPTS: '20',
    };
    [policy, dispatch] = await Promise.all([startApp('policy-service', env), startApp('dispatch-service', env)]);
    started.push(policy, dispatch);
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await recorder?.stop();
    await bus?.close();
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  it('a `started` with no worker behind it any more: the job stays replayable and runs once when a worker comes', async () => {
    const submitter = await SignoffClient.as(policy.url, 'agent-9', ['submitter']);
    expect((await submitter.submit({ job_id: 'u-forged', topic: 'knowledge.read' })).status).toBe(202);
    await waitFor(async () => (await eventTypes(store, 'u-forged')).includes('JobDispatched'), 'the first dispatch', 30_000);
    // A worker's authenticated `started` for the dispatched attempt; that worker is gone (no worker runs now).
    await bus.publish(topics.results, [
      {
        key: 'u-forged',
        value: { job_id: 'u-forged', tenant: 'default', idempotency_key: await keyOf('u-forged'), attempt: 1, status: 'started', worker: 'gone' },
        headers: { authorization: `Bearer ${await testWorkerToken('gone')}` },
      },
    ]);
    await waitFor(async () => (await stateOf('u-forged')) === 'RUNNING', 'RUNNING on the report', 30_000);
    await waitFor(
      async () => (await eventsOf(store, 'u-forged', 'DispatchReplayed')).some((r) => r.reason === 'not_completed'),
      'the replay of the RUNNING job past WORKER_RUN_TIMEOUT_MS',
      30_000,
    );
    await waitFor(() => recorder.forJob('u-forged').some((m) => (m.json as { attempt: number }).attempt >= 2), 'attempt 2 on the topic', 30_000);
    const w1 = await worker('W1');
    await waitFor(async () => (await stateOf('u-forged')) === 'SUCCEEDED', 'u-forged SUCCEEDED', 40_000);
    expect(await effects('u-forged')).toBe(1);
    await w1.stop();
  });

  it('a worker SIGKILLed after its external effect: UNKNOWN (JobOutcomeUnknown), one effect, never run again; an operator resolves it', async () => {
    const a = await worker('A', { WORKER_FAULT: 'after-effect', WORKER_FAULT_JOB: 'u-ext' });
    const submitter = await SignoffClient.as(policy.url, 'agent-9', ['submitter']);
    expect((await submitter.submit({ job_id: 'u-ext', topic: 'knowledge.read' })).status).toBe(202);
    expect(await exited(a)).toBe('SIGKILL');
    expect(await effects('u-ext')).toBe(1);
    await waitFor(async () => (await stateOf('u-ext')) === 'RUNNING', 'u-ext RUNNING (its started report recorded)', 20_000);

    // Another worker gets the job (its own delivery, then the replay of the RUNNING job): it marks the outcome unknown.
    const b = await worker('B');
    await waitFor(async () => (await stateOf('u-ext')) === 'UNKNOWN', 'u-ext UNKNOWN', 40_000);
    const [unknown] = await eventsOf(store, 'u-ext', 'JobOutcomeUnknown');
    expect(unknown).toMatchObject({
      job_id: 'u-ext',
      idempotency_key: await keyOf('u-ext'),
      worker: 'B',
      fencing_token: 1,
      reason: expect.stringMatching(/lease of A \(run 1\) expired after its side effect began/),
    });
    expect(b.output()).toContain('outcome unknown, not running again');
    // Time for more replays and redeliveries to come by: still one effect, still UNKNOWN, no replay after the unknown.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await effects('u-ext')).toBe(1);
    expect(await stateOf('u-ext')).toBe('UNKNOWN');
    const types = await eventTypes(store, 'u-ext');
    expect(types.slice(types.indexOf('JobOutcomeUnknown') + 1).filter((t) => t === 'DispatchReplayed' || t === 'DispatchClaimed')).toEqual([]);
    expect(metric(await (await fetch(`${dispatch.url}/metrics`)).text(), 'signoff_jobs_outcome_unknown_total')).toBe(1);

    const operator = await SignoffClient.as(policy.url, 'olga', ['admin']);
    const listed = await operator.call('GET', '/jobs?state=UNKNOWN');
    expect(listed.status).toBe(200);
    expect((listed.body.items as Array<{ job_id: string }>).map((i) => i.job_id)).toEqual(['u-ext']);
    const resolved = await operator.call('POST', '/jobs/u-ext/resolve', { outcome: 'succeeded', reason: 'the demo side-effect table holds its one row' });
    expect(resolved).toMatchObject({ status: 200, body: { status: 'resolved', outcome: 'succeeded', resolved_by: 'olga', state: 'SUCCEEDED' } });
    expect(await eventsOf(store, 'u-ext', 'JobOutcomeResolved')).toEqual([
      { job_id: 'u-ext', outcome: 'succeeded', reason: 'the demo side-effect table holds its one row', resolved_by: 'olga' },
    ]);
    expect((await operator.job('u-ext')).body).toMatchObject({ state: 'SUCCEEDED', result: { resolution: { resolved_by: 'olga' } } });
    expect(((await operator.call('GET', '/jobs?state=UNKNOWN')).body.items as unknown[]).length).toBe(0);
    expect(await effects('u-ext')).toBe(1);
  });
});
