import { randomBytes } from 'node:crypto';
import { apiStateOf, foldJob } from '@signoff/approvals';
import { JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { createEventStore, EventStore } from '@signoff/event-store';
import { KafkaMessageBus } from '@signoff/messaging';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activateTestPolicy,
  approveTestJob,
  commandsFor,
  eventsOf,
  eventTypes,
  rejectTestJob,
  submitTestJob,
  topicMessageCount,
  TopicRecorder,
  waitFor,
  waitForGroupMembers,
} from '@signoff/dispatch-service/testing';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';

/**
 * Invariant 4 and the article's rollout step 5, each service its own process on the real broker
 * and PostgreSQL: a worker outage during an approval release, and a dispatcher SIGKILLed after its
 * claim and after its publish. Every job ends SUCCEEDED with exactly one side effect (rows in the
 * demo worker's side-effect table) and every attempt on `signoff.jobs.dispatch` carries the same
 * idempotency key. Denied, unapproved and rejected jobs never appear on the topic (invariants 1, 2).
 */
describe('dispatch recovery: worker down, dispatcher killed mid-dispatch', () => {
  const prefix = `e2edsp${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const brokers = testKafkaBrokers();
  const started: ServiceProcess[] = [];
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let commands: JobCommandHandler;
  let bus: KafkaMessageBus;
  let pool: Pool;
  let recorder: TopicRecorder;
  let trust: Record<string, string>;

  const dispatcherEnv = (extra: Record<string, string> = {}) => ({
    ...trust,
    KAFKA_BROKERS: brokers.join(','),
    EVENT_STORE_URL: db.url,
    KAFKA_TOPIC_PREFIX: prefix,
    DISPATCH_GRACE_MS: '1000',
    WORKER_ACK_TIMEOUT_MS: '2500',
    DISPATCH_MAX_ATTEMPTS: '20',
    ...extra,
  });
  const startDispatcher = async (extra: Record<string, string> = {}) => {
    const p = await startApp('dispatch-service', dispatcherEnv(extra));
    started.push(p);
    return p;
  };
  const exited = (p: ServiceProcess) => new Promise<NodeJS.Signals | null>((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) resolve(p.child.signalCode);
    else p.child.once('exit', (_code, signal) => resolve(signal));
  });
  const stateOf = async (jobId: string) => apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))));
  const sideEffects = async (): Promise<Array<{ idempotency_key: string; job_id: string; attempt: number }>> => {
    const exists = await pool.query(`SELECT to_regclass('demo_worker_side_effects') AS t`);
    if (exists.rows[0].t === null) return [];
    return (await pool.query('SELECT idempotency_key, job_id, attempt FROM demo_worker_side_effects ORDER BY id')).rows;
  };
  /** The recorder has seen everything on the dispatch topic. */
  const recorded = async () => {
    const total = await topicMessageCount(brokers, topics.dispatch);
    await waitFor(() => recorder.messages.length === total, `all ${total} dispatch messages recorded`);
  };
  const attemptsOnTopic = (jobId: string) => recorder.forJob(jobId).map((m) => (m.json as { attempt: number }).attempt);

  beforeAll(async () => {
    trust = await testTrustEnv();
    db = await createTestDatabase('e2edsp');
    store = await createEventStore(db.url);
    commands = commandsFor(store);
    await activateTestPolicy(store);
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    bus = new KafkaMessageBus({ brokers, clientId: 'e2e-dispatch', log: () => undefined });
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));
    recorder = await TopicRecorder.start(bus, topics.dispatch);
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await recorder?.stop();
    await bus?.close();
    await pool?.end();
    await store?.close();
    await db?.drop();
  });

  it('a dispatcher SIGKILLed after its claim and before the publish leaves the claim and nothing on the topic', async () => {
    const d1 = await startDispatcher({ SIGNOFF_FAULT: 'crash-after-claim', SIGNOFF_FAULT_JOB: 'job-claim' });
    await submitTestJob(commands, 'job-claim', 'allow');
    await bus.publish(topics.evaluated, [{ key: 'job-claim', value: { job_id: 'job-claim', decision: 'allow' } }]);
    expect(await exited(d1)).toBe('SIGKILL');
    expect(await eventTypes(store, 'job-claim')).toEqual(['JobSubmitted', 'PolicyEvaluated', 'DispatchClaimed']);
    await recorded();
    expect(recorder.forJob('job-claim')).toEqual([]);
  });

  it('a dispatcher SIGKILLed after its publish and before recording it leaves one message and no JobDispatched', async () => {
    const d2 = await startDispatcher({ SIGNOFF_FAULT: 'crash-after-publish', SIGNOFF_FAULT_JOB: 'job-publish' });
    await submitTestJob(commands, 'job-publish', 'allow');
    await bus.publish(topics.evaluated, [{ key: 'job-publish', value: { job_id: 'job-publish', decision: 'allow' } }]);
    expect(await exited(d2)).toBe('SIGKILL');
    const types = await eventTypes(store, 'job-publish');
    expect(types).toContain('DispatchClaimed');
    expect(types).not.toContain('JobDispatched');
    await recorded();
    expect(attemptsOnTopic('job-publish')).toEqual([1]);
  });

  it('with the worker down, an approval is released and the restarted dispatcher replays it and both interrupted dispatches', async () => {
    await startDispatcher();
    // The killed dispatchers' group memberships expire first (session timeout), so the approval
    // notification below is consumed at once: the replay it gets is for the missing worker.
    await waitForGroupMembers(brokers, `${prefix}dispatch-service`, 1);
    const approved = await submitTestJob(commands, 'job-approved', 'require_human');
    await approveTestJob(commands, approved);
    await bus.publish(topics.approved, [{ key: 'job-approved', value: { job_id: 'job-approved', approval_id: 'approval-job-approved' } }]);

    // Jobs that must never reach workers, announced anyway (forged or stale notifications).
    await submitTestJob(commands, 'job-denied', 'deny');
    await submitTestJob(commands, 'job-unapproved', 'require_human');
    await rejectTestJob(commands, await submitTestJob(commands, 'job-rejected', 'require_human'));
    for (const id of ['job-denied', 'job-unapproved', 'job-rejected', 'job-throttled-never-recorded']) {
      await bus.publish(topics.evaluated, [{ key: id, value: { job_id: id, decision: 'allow' } }]);
      await bus.publish(topics.approved, [{ key: id, value: { job_id: id } }]);
    }

    await waitFor(async () => (await eventsOf(store, 'job-approved', 'DispatchReplayed')).length >= 1, 'job-approved replayed (no worker ack)', 30_000);
    await waitFor(async () => (await eventsOf(store, 'job-claim', 'JobDispatched')).some((d) => d.attempt === 2), 'job-claim replayed', 30_000);
    await waitFor(async () => (await eventsOf(store, 'job-publish', 'JobDispatched')).some((d) => d.attempt === 2), 'job-publish replayed', 30_000);
    expect((await eventsOf(store, 'job-claim', 'DispatchReplayed'))[0]).toEqual({ job_id: 'job-claim', attempt: 2, reason: 'not_recorded' });
    expect((await eventsOf(store, 'job-publish', 'DispatchReplayed'))[0]).toEqual({ job_id: 'job-publish', attempt: 2, reason: 'not_recorded' });
    expect((await eventsOf(store, 'job-approved', 'DispatchReplayed'))[0]).toEqual({ job_id: 'job-approved', attempt: 2, reason: 'not_acknowledged' });
    expect(await sideEffects()).toEqual([]);
  });

  it('when the worker comes back every job runs exactly once, whatever number of attempts reached the topic', async () => {
    const worker = await startApp('demo-worker', {
      ...trust,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      WORKER_DATABASE_URL: db.url,
      WORKER_ID: 'demo-1',
      WORKER_GROUP_ID: `${prefix}workers`,
      LOG_LEVEL: 'info',
    });
    started.push(worker);
    const jobs = ['job-claim', 'job-publish', 'job-approved'];
    for (const id of jobs) await waitFor(async () => (await stateOf(id)) === 'SUCCEEDED', `${id} SUCCEEDED`, 40_000);
    // Let any attempt still in flight arrive and be absorbed by the worker before counting.
    await new Promise((r) => setTimeout(r, 1500));
    await recorded();

    const effects = await sideEffects();
    expect(effects.map((e) => e.job_id).sort()).toEqual([...jobs].sort());
    const keyOf = async (id: string) => (await eventsOf(store, id, 'DispatchClaimed'))[0].idempotency_key;
    const keys = await Promise.all(jobs.map(keyOf));
    expect(effects.map((e) => e.idempotency_key).sort()).toEqual([...keys].sort());
    for (const id of jobs) {
      const key = await keyOf(id);
      expect(worker.output()).toContain(`"msg":"side effect","idempotency_key":"${key}"`);
      const onTopic = recorder.forJob(id);
      const attempts = attemptsOnTopic(id);
      // Each attempt published once, all under the one key of the first claim.
      expect(new Set(attempts).size).toBe(attempts.length);
      expect(new Set(onTopic.map((m) => m.headers['idempotency-key']))).toEqual(new Set([key]));
      const recordedAttempts = (await eventsOf(store, id, 'JobDispatched')).map((d) => d.attempt);
      expect(attempts.filter((a) => !recordedAttempts.includes(a))).toEqual(id === 'job-publish' ? [1] : []);
    }
    expect(attemptsOnTopic('job-claim')[0]).toBe(2);
    expect(attemptsOnTopic('job-approved').length).toBeGreaterThanOrEqual(2);
    expect(recorder.forJob('job-approved').every((m) => m.headers.approval_granted === 'true')).toBe(true);

    // Invariants 1 and 2: only the released jobs ever reached the topic.
    expect(new Set(recorder.messages.map((m) => m.key))).toEqual(new Set(jobs));
    for (const id of ['job-denied', 'job-unapproved', 'job-rejected']) expect(await eventTypes(store, id)).not.toContain('DispatchClaimed');

    const metrics = await (await fetch(`${started[2].url}/metrics`)).text();
    const replayed = Number(/^signoff_jobs_replayed_total (\d+)/m.exec(metrics)?.[1]);
    expect(replayed).toBeGreaterThanOrEqual(3);
    expect(metrics).toMatch(/^signoff_jobs_dispatched_total [1-9]/m);
  });
});
