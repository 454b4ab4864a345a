import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { connectMessageBus } from '@signoff/runtime';
import { authHeader, startTestApp, testConfig } from '../../../test/support/app';
import { hostileJsonText, hostileString, hugeNumberText, KNOWN_CODES, objectText, reservedLabelName, SQL_TEXT } from '../../../test/support/hostile.arbitraries';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { PolicyServiceModule } from './app.module';

/** Bodies a hostile or buggy client sends: anything JSON, near-misses of a job, prototype keys, unicode. */
const jobLike = fc.record(
  {
    job_id: fc.oneof(fc.uuid(), fc.string(), fc.constant('__proto__'), fc.integer(), fc.constant('')),
    topic: fc.oneof(fc.constantFrom('knowledge.read', 'finance.payment.execute', 'customer.notify'), fc.string(), fc.integer(), fc.constant(null)),
    priority: fc.oneof(fc.string(), hostileString, fc.integer(), fc.constant(null)),
    tenant: fc.oneof(fc.constantFrom('default', 'acme'), fc.string(), hostileString),
    labels: fc.oneof(
      fc.dictionary(fc.oneof(fc.string(), hostileString, reservedLabelName, fc.constantFrom('__proto__', 'constructor', 'approval_x', 'signoff.y', 'env')), fc.oneof(fc.string(), hostileString, fc.integer())),
      fc.string(),
      fc.array(fc.string()),
    ),
    payload: fc.jsonValue({ maxDepth: 6 }),
  },
  { requiredKeys: [] },
);

/**
 * A job that would be accepted but for one hostile part, as raw JSON text (so it can carry
 * `1e400`, NUL bytes and lone surrogates exactly as a client sends them).
 */
const hostileJob = (submittedBy: fc.Arbitrary<string | undefined>) =>
  fc
    .record({
      topic: fc.constantFrom('knowledge.read', 'customer.notify'),
      priority: fc.option(hostileString.map((v) => JSON.stringify(v)), { nil: undefined }),
      labels: fc.option(fc.dictionary(fc.oneof(fc.constantFrom('env', 'team'), hostileString, reservedLabelName), hostileString.map((v) => JSON.stringify(v)), { maxKeys: 3 }), { nil: undefined }),
      payload: fc.option(fc.oneof(hostileJsonText, hugeNumberText, hugeNumberText.map((n) => `{"n":${n}}`)), { nil: undefined }),
      submitted_by: submittedBy,
    })
    .map(({ topic, priority, labels, payload, submitted_by }) =>
      objectText({ topic: JSON.stringify(topic), priority, labels: labels === undefined ? undefined : objectText(labels), payload, submitted_by }),
    );
const hostileJobText = hostileJob(fc.constant(undefined));
/** On Kafka the submitter is in the message: a good one (so the hostile part is what is judged) or a hostile one. */
const hostileKafkaJobText = hostileJob(fc.oneof(fc.constant('"fuzzer"'), hostileString.map((v) => JSON.stringify(v))));
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
  hostileJobText,
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constant('{"topic":"knowledge.read","__proto__":{"admin":true}}'),
  fc.constant('{"topic":"knowledge.read","labels":{"__proto__":"x"}}'),
  fc.constantFrom('{"topic":"knowledge.read","payload":{"n":1e400}}', '{"topic":"knowledge.read","payload":{"a":{"b":"\\u0000"}}}', '{"topic":"knowledge.read","payload":"\\ud800"}'),
  fc.integer({ min: 40, max: 5000 }).map((d) => '{"topic":"knowledge.read","payload":' + '['.repeat(d) + ']'.repeat(d) + '}'),
);

/** What every non-2xx answer must be: problem+json with a known code, and no SQL text anywhere. */
async function expectCleanAnswer(res: Response): Promise<{ job_id?: string; code?: string }> {
  const text = await res.text();
  expect(res.status).toBeLessThan(500);
  expect(text).not.toMatch(SQL_TEXT);
  const answer = JSON.parse(text) as { job_id?: string; code?: string };
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(KNOWN_CODES.has(answer.code ?? '')).toBe(true);
  }
  return answer;
}

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
        const answer = await expectCleanAnswer(res);
        if (res.status === 202) {
          const stored = await svc.app.get(EventStore).readStream(toJobStreamId({ tenant: tenantOf(text), jobId: answer.job_id! }));
          expect(stored.length).toBeGreaterThanOrEqual(2);
        }
      }),
      { numRuns: 250 },
    );
    const huge = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ topic: 'knowledge.read', payload: 'x'.repeat(3 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect((await fetch(`${svc.url}/health/ready`)).status).toBe(200);
  });

  it('HTTP: a reserved label name in any case or Unicode form is always 400 reserved_label', async () => {
    await fc.assert(
      fc.asyncProperty(reservedLabelName, fc.dictionary(fc.constantFrom('env', 'team', 'region'), fc.string({ maxLength: 20 }), { maxKeys: 2 }), async (name, others) => {
        const res = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify({ topic: 'knowledge.read', labels: { ...others, [name]: 'true' } }) });
        expect(res.status).toBe(400);
        expect(((await expectCleanAnswer(res)) as { code: string }).code).toBe('reserved_label');
      }),
      { numRuns: 60 },
    );
  });

  it('Kafka: every message ends as a stored job or a DLQ entry with a known code; nothing is lost and the partition never blocks', async () => {
    // Poison messages whose verdict is known, among fuzzed ones: each must be dead-lettered at once
    // with that code (a NUL byte used to be retried for ever as a store outage, blocking the partition).
    const poison: [string, string][] = [
      ['{"topic":"knowledge.read","submitted_by":"fuzzer","payload":{"a":{"b":"\\u0000"}}}', 'invalid_request'],
      ['{"topic":"knowledge.read","submitted_by":"fuzzer","labels":{"env":"\\ud800"}}', 'invalid_request'],
      ['{"topic":"knowledge.read","submitted_by":"fuzzer","payload":{"n":1e400}}', 'invalid_request'],
      ['{"topic":"knowledge.read","submitted_by":"agent\\nactor: root"}', 'invalid_request'],
      ['{"topic":"knowledge.read","submitted_by":"agent\\u000f"}', 'invalid_request'],
      ['{"topic":"knowledge.read","submitted_by":"fuzzer","labels":{"SIGNOFF.approved":"yes"}}', 'reserved_label'],
    ];
    const good = '{"topic":"knowledge.read","submitted_by":"fuzzer"}';
    const fuzzed = fc.sample(fc.oneof(body, hostileKafkaJobText), { numRuns: 160, seed: 42 });
    const values = [good, ...poison.flatMap(([text]) => [text, good]), ...fuzzed];
    const keys = values.map((_, i) => `fz-${i}-${randomUUID().slice(0, 6)}`);
    const dlq = new Map<string, { code: string; detail: string }>();
    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `dlq-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}jobs.requested.dlq`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void dlq.set(message.key!.toString(), {
          code: message.headers?.[HEADERS.errorCode]?.toString() ?? '',
          detail: message.headers?.[HEADERS.errorDetail]?.toString() ?? '',
        }),
    });
    try {
      await svc.app.get(MessageBus).publish(
        `${prefix}jobs.requested`,
        // With the submitter's credential, so the fuzzed bodies reach validation (DESIGN section 12).
        values.map((text, i) => ({ key: keys[i], value: Buffer.from(text), headers: { authorization: headers.authorization } })),
      );
      const store = svc.app.get(EventStore);
      const stored = async (i: number) => (await store.readStream(toJobStreamId({ tenant: tenantOf(values[i]), jobId: keys[i] }), { maxCount: 1 })).length > 0;
      const settled = async () => {
        let done = 0;
        for (const [i, key] of keys.entries()) if (dlq.has(key) || (await stored(i))) done += 1;
        return done === keys.length;
      };
      await eventually(settled, 'every fuzzed message stored or dead-lettered', 60_000);
      for (const [i, key] of keys.entries()) expect(dlq.has(key) || (await stored(i))).toBe(true);
      poison.forEach(([, code], i) => {
        expect(dlq.get(keys[1 + 2 * i])?.code, poison[i][0]).toBe(code);
        expect(dlq.has(keys[2 + 2 * i])).toBe(false); // the good message right after it
      });
      for (const [i] of values.entries()) if (values[i] === good) expect(await stored(i)).toBe(true);
      for (const { code, detail } of dlq.values()) {
        expect(KNOWN_CODES.has(code), code).toBe(true);
        expect(code).not.toBe('internal');
        expect(detail).not.toMatch(SQL_TEXT);
      }
    } finally {
      await consumer.disconnect();
    }
  });
});
