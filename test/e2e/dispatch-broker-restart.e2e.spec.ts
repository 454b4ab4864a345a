import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiStateOf, foldJob } from '@signoff/approvals';
import { JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { createEventStore, EventStore } from '@signoff/event-store';
import { KafkaMessageBus } from '@signoff/messaging';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaHandle, startKafka } from '../../deploy/local/kafka/kafka';
import {
  activateTestPolicy,
  approveTestJob,
  commandsFor,
  eventsOf,
  submitTestJob,
  topicMessageCount,
  TopicRecorder,
  waitFor,
} from '@signoff/dispatch-service/testing';
import { createTestDatabase } from '../support/infra';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';

/**
 * Invariant 4 across a broker restart: the broker (our own, so the shared one is not disturbed)
 * is stopped while jobs are being dispatched and while more are allowed and approved, then started
 * again on the same data directory and ports. Nothing is lost: every job ends SUCCEEDED, with
 * exactly one side effect, and the outage does not exhaust the dispatch attempts.
 */
describe('dispatch across a broker restart', () => {
  const prefix = `e2ebrk${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-kafka-restart-'));
  const started: ServiceProcess[] = [];
  let kafka: KafkaHandle;
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let commands: JobCommandHandler;
  let bus: KafkaMessageBus;
  let pool: Pool;
  let recorder: TopicRecorder;

  const stateOf = async (jobId: string) => apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))));
  const allSucceeded = async (ids: string[]) => (await Promise.all(ids.map(stateOf))).every((s) => s === 'SUCCEEDED');

  beforeAll(async () => {
    kafka = await startKafka({ dataDir });
    db = await createTestDatabase('e2ebrk');
    store = await createEventStore(db.url);
    commands = commandsFor(store);
    await activateTestPolicy(store);
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    bus = new KafkaMessageBus({ brokers: kafka.brokers, clientId: 'e2e-broker-restart', log: () => undefined });
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));
    recorder = await TopicRecorder.start(bus, topics.dispatch);
    const common = { KAFKA_BROKERS: kafka.brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, ...(await testTrustEnv()) };
    started.push(
      await startApp('dispatch-service', { ...common, EVENT_STORE_URL: db.url, DISPATCH_GRACE_MS: '1000', WORKER_ACK_TIMEOUT_MS: '5000' }),
      await startApp('demo-worker', { ...common, WORKER_DATABASE_URL: db.url, WORKER_GROUP_ID: `${prefix}workers`, WORKER_ID: 'demo-restart' }),
    );
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await recorder?.stop();
    await bus?.close();
    await pool?.end();
    await store?.close();
    await db?.drop();
    await kafka?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing and runs every side effect once when the broker restarts mid-flow', async () => {
    const before = Array.from({ length: 6 }, (_, i) => `before-${i}`);
    for (const id of before) await submitTestJob(commands, id, 'allow');
    await bus.publish(topics.evaluated, before.map((id) => ({ key: id, value: { job_id: id, decision: 'allow' } })));
    await waitFor(() => allSucceeded(before), 'the jobs before the restart to succeed', 40_000);

    // In flight when the broker goes: announced, maybe claimed or published, not yet acknowledged.
    const inFlight = Array.from({ length: 6 }, (_, i) => `inflight-${i}`);
    for (const id of inFlight) await submitTestJob(commands, id, 'allow');
    await bus.publish(topics.evaluated, inFlight.map((id) => ({ key: id, value: { job_id: id, decision: 'allow' } })));
    await kafka.stop();

    // Released while the broker is down: their notifications could never be published.
    const whileDown = Array.from({ length: 6 }, (_, i) => `down-${i}`);
    for (const [i, id] of whileDown.entries()) {
      const job = await submitTestJob(commands, id, i % 2 === 0 ? 'allow' : 'require_human');
      if (i % 2 === 1) await approveTestJob(commands, job);
    }
    await new Promise((r) => setTimeout(r, 3000));
    kafka = await startKafka({ dataDir });

    const all = [...before, ...inFlight, ...whileDown];
    try {
      await waitFor(() => allSucceeded(all), 'every job to succeed after the restart', 90_000);
    } catch (error) {
      // Say where each job stopped and what the services said, so a failure can be diagnosed.
      const states = await Promise.all(all.map(async (id) => `${id}: ${await stateOf(id)}`));
      process.stderr.write(`job states: ${states.join(', ')}\n`);
      for (const p of started) process.stderr.write(`--- ${p.url}\n${p.output().slice(-20_000)}\n`);
      throw error;
    }
    await new Promise((r) => setTimeout(r, 1000));

    const effects = (await pool.query('SELECT job_id, idempotency_key FROM demo_worker_side_effects ORDER BY id')).rows as Array<{ job_id: string; idempotency_key: string }>;
    expect(effects.map((e) => e.job_id).sort()).toEqual([...all].sort());
    expect(new Set(effects.map((e) => e.idempotency_key)).size).toBe(all.length);
    for (const id of all) expect(await eventsOf(store, id, 'DispatchAbandoned')).toEqual([]);

    const total = await topicMessageCount(kafka.brokers, topics.dispatch);
    await waitFor(() => recorder.messages.length === total, `all ${total} dispatch messages recorded`, 30_000);
    for (const id of all) {
      const onTopic = recorder.forJob(id);
      expect(onTopic.length).toBeGreaterThanOrEqual(1);
      const [claim] = await eventsOf(store, id, 'DispatchClaimed');
      expect(new Set(onTopic.map((m) => m.headers['idempotency-key']))).toEqual(new Set([claim.idempotency_key]));
    }
  });
});
