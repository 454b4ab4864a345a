import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { connectMessageBus } from '@signoff/runtime';
import { authHeader, startTestApp, testConfig } from '../../../test/support/app';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { PolicyServiceModule } from './app.module';

/** Bodies a hostile or buggy client sends: anything JSON, near-misses of a job, prototype keys, unicode. */
const jobLike = fc.record(
  {
    job_id: fc.oneof(fc.uuid(), fc.string(), fc.constant('__proto__'), fc.integer(), fc.constant('')),
    topic: fc.oneof(fc.constantFrom('knowledge.read', 'finance.payment.execute', 'customer.notify'), fc.string(), fc.integer(), fc.constant(null)),
    priority: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
    tenant: fc.oneof(fc.constantFrom('default', 'acme'), fc.string()),
    labels: fc.oneof(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'approval_x', 'signoff.y', 'env')), fc.oneof(fc.string(), fc.integer())), fc.string(), fc.array(fc.string())),
    payload: fc.jsonValue({ maxDepth: 6 }),
  },
  { requiredKeys: [] },
);
/** The tenant a body names (where its job is stored): `default` unless it is an object with a string tenant. */
function tenantOf(text: string): string {
  try {
    const value = JSON.parse(text) as unknown;
    const tenant = value !== null && typeof value === 'object' ? (value as { tenant?: unknown }).tenant : undefined;
    return typeof tenant === 'string' ? tenant : 'default';
  } catch {
    return 'default';
  }
}

const body = fc.oneof(
  jobLike.map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constant('{"topic":"knowledge.read","__proto__":{"admin":true}}'),
  fc.constant('{"topic":"knowledge.read","labels":{"__proto__":"x"}}'),
  fc.integer({ min: 40, max: 5000 }).map((d) => '{"topic":"knowledge.read","payload":' + '['.repeat(d) + ']'.repeat(d) + '}'),
);

describe('fuzzing the submit API and the Kafka ingress', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Awaited<ReturnType<typeof startTestApp>>;
  let prefix: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('fuzz');
    prefix = `fz${randomUUID().slice(0, 8)}.`;
    const config = testConfig({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), KAFKA_TOPIC_PREFIX: prefix });
    svc = await startTestApp(PolicyServiceModule.forRoot(config));
    await connectMessageBus(svc.app, config, `${prefix}policy`);
    await svc.app.startAllMicroservices();
    headers = { 'content-type': 'application/json', ...(await authHeader('fuzzer', ['submitter'])) };
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('HTTP: any body gets a 2xx or a clear 4xx problem, never a 5xx, and every 202 job is stored', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: text });
        expect([202, 400, 403, 409, 413, 429]).toContain(res.status);
        const answer = (await res.json()) as { job_id?: string; code?: string };
        if (res.status === 202) {
          const stored = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: tenantOf(text), jobId: answer.job_id! }));
          expect(stored.length).toBeGreaterThanOrEqual(2);
        } else {
          expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
          expect(typeof answer.code).toBe('string');
        }
      }),
      { numRuns: 150 },
    );
    const huge = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ topic: 'knowledge.read', payload: 'x'.repeat(3 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect((await fetch(`${svc.url}/health/ready`)).status).toBe(200);
  });

  it('Kafka: every message ends as a stored job or a DLQ entry; nothing is lost and the partition never blocks', async () => {
    const values = fc.sample(body, { numRuns: 120, seed: 42 });
    const keys = values.map((_, i) => `fz-${i}-${randomUUID().slice(0, 6)}`);
    const dlq = new Set<string>();
    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `dlq-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}jobs.requested.dlq`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void dlq.add(message.key!.toString()) });
    try {
      await svc.app.get(MessageBus).publish(
        `${prefix}jobs.requested`,
        values.map((text, i) => ({ key: keys[i], value: Buffer.from(text) })),
      );
      const store = svc.app.get(EventStore);
      const streamOf = (i: number) => toJobStreamId({ tenant: tenantOf(values[i]), jobId: keys[i] });
      const settled = async () => {
        let done = 0;
        for (const [i, key] of keys.entries()) if (dlq.has(key) || (await store.readStream(streamOf(i), { maxCount: 1 })).length > 0) done += 1;
        return done === keys.length;
      };
      await eventually(settled, 'every fuzzed message stored or dead-lettered', 60_000);
      for (const [i, key] of keys.entries()) {
        const stored = (await store.readStream(streamOf(i), { maxCount: 1 })).length > 0;
        expect(stored || dlq.has(key)).toBe(true);
      }
    } finally {
      await consumer.disconnect();
    }
  });
});
