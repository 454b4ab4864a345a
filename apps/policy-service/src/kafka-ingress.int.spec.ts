import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Producer } from 'kafkajs';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signoffTopics, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { connectMessageBus } from '@signoff/runtime';
import { startTestApp, testConfig, tokenFor } from '../../../test/support/app';
import { createTestDatabase, testDatabaseUrl, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { PolicyServiceModule } from './app.module';

interface Seen {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * The failure policy of `signoff.jobs.requested` on the real broker and PostgreSQL (issue 10 §1):
 * a message the store refuses for good is dead-lettered at once and the partition moves on; a
 * store outage is waited out (retried, never skipped, never dead-lettered) while the service stays
 * live and its readiness says what it waits for.
 */
describe('Kafka ingress failure policy (signoff.jobs.requested)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Awaited<ReturnType<typeof startTestApp>>;
  let producer: Producer;
  const prefix = `ing${randomUUID().slice(0, 8)}.`;
  const topics = signoffTopics(prefix);
  const dlq: Seen[] = [];
  const probe = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}probe` });

  const stored = async (jobId: string) => (await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: 'default', jobId }))).map((e) => e.type);
  /** Every message on partition 0, so a poison one sits between good ones in the same log; with the submitter's credential. */
  const request = async (jobId: string, payload: unknown) =>
    producer.send({
      topic: topics.requested,
      messages: [{ key: jobId, partition: 0, value: JSON.stringify({ topic: 'knowledge.read', payload }), headers: { authorization: `Bearer ${await tokenFor('pipeline-1', ['submitter'])}` } }],
    });

  beforeAll(async () => {
    db = await createTestDatabase('ingress');
    const config = testConfig({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix, POLICY_PATH: 'policies/default.yaml' });
    svc = await startTestApp(PolicyServiceModule.forRoot(config));
    await connectMessageBus(svc.app, config, `${prefix}policy-service`);
    await svc.app.startAllMicroservices();
    producer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await probe.connect();
    await probe.subscribe({ topic: topics.requestedDlq, fromBeginning: true });
    await probe.run({
      eachMessage: async ({ message }) =>
        void dlq.push({
          key: message.key?.toString() ?? '',
          value: message.value?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        }),
    });
  });
  afterAll(async () => {
    await probe.disconnect();
    await producer?.disconnect();
    await svc?.close();
    await db?.drop();
  });

  it('a request with a NUL byte between two good ones: dead-lettered at once with error-code / error-detail, both good ones recorded', async () => {
    // Before: PostgreSQL refused the payload (SQLSTATE 22P05) on every redelivery, the handler
    // threw store_unavailable, and the partition never moved again.
    const first = `good-${randomUUID()}`;
    const poison = `poison-${randomUUID()}`;
    const second = `good-${randomUUID()}`;
    await request(first, { q: 'one' });
    await request(poison, { q: 'a\u0000b' });
    await eventually(async () => (await stored(first)).includes('JobSubmitted'), 'the first good request', 20_000);
    // The second one comes in a later fetch: it is only handled if the partition moved past the poison.
    await request(second, { q: 'three' });
    await eventually(async () => (await stored(second)).includes('JobSubmitted'), 'the second good request', 20_000);
    await eventually(() => dlq.some((m) => m.key === poison), 'the poison request on the DLQ', 10_000);

    const [letter] = dlq.filter((m) => m.key === poison);
    expect(letter.headers).toMatchObject({
      'error-code': 'invalid_request',
      'original-topic': topics.requested,
      'original-partition': '0',
    });
    // Refused before the store (validateMessage finds NUL bytes), naming the field.
    expect(letter.headers['error-detail']).toMatch(/payload\.q.*NUL/);
    // The submitter's credential is not copied into the dead letter.
    expect(letter.headers.authorization).toBeUndefined();
    expect(letter.headers['error-detail']).not.toMatch(/SQLSTATE|jsonb|unicode escape/i);
    expect(JSON.parse(letter.value)).toMatchObject({ payload: { q: 'a\u0000b' } });
    expect(await stored(poison)).toEqual([]);
    expect(dlq.filter((m) => m.key === first || m.key === second)).toEqual([]);
    expect(await svc.app.get(SignoffMetrics).text()).toContain(`signoff_messages_dead_lettered_total{topic="${topics.requested}",code="invalid_request"} 1`);
  });

  it('a store outage is waited out: the request is retried and recorded once PostgreSQL is back, nothing is dead-lettered, /health/live stays 200 and /health/ready says what it waits for', async () => {
    const name = new URL(db.url).pathname.slice(1);
    const admin = new Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    const jobId = `outage-${randomUUID()}`;
    const before = dlq.length;
    try {
      // A real outage of this service's database: every connection is cut and none is accepted.
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await request(jobId, { q: 'during the outage' });
      let readiness: { status: string; checks: Record<string, { status: string; error?: string }> } | null = null;
      await eventually(
        async () => {
          const res = await fetch(`${svc.url}/health/ready`);
          readiness = (await res.json()) as typeof readiness;
          return res.status === 503 && readiness!.checks.consumers?.status === 'unavailable';
        },
        'readiness to report the waiting message',
        20_000,
      );
      expect(readiness!.checks.consumers.error).toContain(topics.requested);
      expect(readiness!.checks.consumers.error).toMatch(/store_unavailable/);
      expect(readiness!.checks['event-store'].status).toBe('unavailable');
      expect((await fetch(`${svc.url}/health/live`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await fetch(`${svc.url}/health/live`)).status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await eventually(async () => (await stored(jobId).catch((): string[] => [])).includes('JobSubmitted'), 'the request recorded after the outage', 30_000);
    await eventually(async () => (await fetch(`${svc.url}/health/ready`)).status === 200, 'readiness back to 200', 20_000);
    expect(await stored(jobId)).toEqual(['JobSubmitted', 'PolicyEvaluated']);
    expect(dlq.length).toBe(before);
  });
});
