import { randomBytes } from 'node:crypto';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { InboundMessage, KafkaMessageBus, OutboundMessage } from '@signoff/messaging';
import { jobHash } from '@signoff/policy-engine';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { openClaimStore } from './claim-store.factory';
import { ClaimStore } from './claim-store.port';
import { DispatchedJob } from './dispatch-verification';
import { createWorker, Worker } from './worker';

const quiet = () => undefined;

function dispatchMessage(jobId: string, attempt: number, payload: unknown = { n: jobId }): OutboundMessage {
  const request = { topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: { channel: 'email' }, payload };
  const key = `${jobId}:dispatch`;
  return {
    key: jobId,
    value: { job_id: jobId, ...request, attempt, idempotency_key: key },
    headers: { 'idempotency-key': key, 'job-hash': jobHash(request) },
  };
}

describe('createWorker on the real broker and PostgreSQL', () => {
  const prefix = `wsdk${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  let bus: KafkaMessageBus;
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  let claims: ClaimStore;
  const results: InboundMessage[] = [];
  const dead: InboundMessage[] = [];
  const runs: Array<{ worker: string; job: DispatchedJob }> = [];
  const workers: Worker[] = [];

  const resultsOf = (jobId: string) =>
    results.filter((m) => m.key === jobId).map((m) => JSON.parse(m.value!.toString()) as { status: string; result?: unknown; error?: string; worker: string; idempotency_key: string });

  beforeAll(async () => {
    bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'worker-sdk-test', log: quiet });
    await bus.ensureTopics([
      { name: topics.dispatch, partitions: DEFAULT_PARTITIONS },
      { name: topics.dispatchDlq, partitions: DEFAULT_PARTITIONS },
      { name: topics.results, partitions: DEFAULT_PARTITIONS },
    ]);
    db = await createTestDatabase('worker');
    pool = new Pool({ connectionString: db.url, max: 4 });
    claims = await openClaimStore(pool);
    await bus.subscribe({ groupId: `${prefix}results-reader`, topics: [topics.results], handler: async (m) => void results.push(m) });
    await bus.subscribe({ groupId: `${prefix}dlq-reader`, topics: [topics.dispatchDlq], handler: async (m) => void dead.push(m) });
    // Two workers in DIFFERENT groups: each receives every dispatch message, as duplicate deliveries
    // (a rebalance, a replayed attempt) reach two workers. They share one claim table.
    for (const name of ['w1', 'w2']) {
      const worker = await createWorker({
        brokers: testKafkaBrokers(),
        topicPrefix: prefix,
        groupId: `${prefix}group-${name}`,
        databaseUrl: db.url,
        workerId: name,
        leaseMs: 400,
        log: quiet,
        handler: async (job, context) => {
          runs.push({ worker: name, job });
          await new Promise((r) => setTimeout(r, 20));
          if (job.payload && (job.payload as { fail?: boolean }).fail) throw new Error('the mail server said no');
          return { sent_by: name, key: context.idempotencyKey };
        },
      });
      await worker.start();
      workers.push(worker);
    }
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await bus?.close();
    await pool?.end();
    await db?.drop();
  });

  it('runs each idempotency key once although every message reaches two workers, twice (attempts 1 and 2)', async () => {
    const jobIds = Array.from({ length: 12 }, (_, i) => `dup-${i}`);
    await bus.publish(topics.dispatch, jobIds.map((id) => dispatchMessage(id, 1)));
    await bus.publish(topics.dispatch, jobIds.map((id) => dispatchMessage(id, 2)));
    // 12 jobs x 2 attempts x 2 workers = 48 deliveries: one run, one started and 4 succeeded reports per job.
    await eventually(() => jobIds.every((id) => resultsOf(id).filter((r) => r.status === 'succeeded').length === 4), 'every delivery reported', 60_000);
    for (const id of jobIds) {
      expect(runs.filter((r) => r.job.job_id === id)).toHaveLength(1);
      const reports = resultsOf(id);
      expect(reports.filter((r) => r.status === 'started')).toHaveLength(1);
      const runner = runs.find((r) => r.job.job_id === id)!.worker;
      // Every succeeded report carries the one stored result of the one run.
      for (const r of reports.filter((x) => x.status === 'succeeded')) {
        expect(r.result).toEqual({ sent_by: runner, key: `${id}:dispatch` });
        expect(r.idempotency_key).toBe(`${id}:dispatch`);
      }
      expect(await claims.get(`${id}:dispatch`)).toMatchObject({ status: 'succeeded', runs: 1 });
    }
    const sideEffects = await pool.query('SELECT count(*)::int AS n FROM signoff_worker_claims');
    expect(sideEffects.rows[0].n).toBe(12);
  });

  it('never runs a job whose content does not match its job hash and reports failed job_hash_mismatch', async () => {
    const good = dispatchMessage('tampered', 1, { amount: 10 });
    const tampered: OutboundMessage = { ...good, value: { ...(good.value as object), payload: { amount: 10_000 } } };
    await bus.publish(topics.dispatch, [tampered]);
    await eventually(() => resultsOf('tampered').length >= 2, 'both workers report the refusal', 30_000);
    expect(resultsOf('tampered').every((r) => r.status === 'failed' && r.error === 'job_hash_mismatch')).toBe(true);
    expect(runs.filter((r) => r.job.job_id === 'tampered')).toHaveLength(0);
    // The refusal claims nothing: a genuine delivery of the key may still run.
    expect(await claims.get('tampered:dispatch')).toBeNull();
    // Each worker's group dead-letters the refused message once, with the refusal as error-code.
    await eventually(() => dead.filter((m) => m.key === 'tampered').length >= 2, 'the refusals on jobs.dispatch.dlq', 30_000);
    expect(dead.filter((m) => m.key === 'tampered').map((m) => m.headers['error-code'])).toEqual(['job_hash_mismatch', 'job_hash_mismatch']);
  });

  it('dead-letters invalid messages to jobs.dispatch.dlq without blocking the partition', async () => {
    const bad: OutboundMessage[] = [
      { key: 'poison', value: Buffer.from('{not json') },
      { key: 'poison', value: { job_id: 'poison', hello: 'world' } },
    ];
    await bus.publish(topics.dispatch, [...bad, dispatchMessage('poison', 1)]);
    await eventually(() => resultsOf('poison').filter((r) => r.status === 'succeeded').length === 2, 'the valid message after the poison ones', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'poison')).toHaveLength(1);
    await eventually(() => dead.filter((m) => m.key === 'poison').length >= 4, 'both invalid messages dead-lettered by both workers', 30_000);
    const letters = dead.filter((m) => m.key === 'poison');
    expect(letters.map((m) => m.headers['error-code'])).toEqual(Array(4).fill('invalid_message'));
    expect(letters.map((m) => m.headers['original-topic'])).toEqual(Array(4).fill(topics.dispatch));
    expect(letters.every((m) => (m.headers['error-detail'] ?? '').length > 0)).toBe(true);
  });

  it('a failing side effect is stored as failed and reported again, never retried', async () => {
    await bus.publish(topics.dispatch, [dispatchMessage('fails', 1, { fail: true }), dispatchMessage('fails', 2, { fail: true })]);
    await eventually(() => resultsOf('fails').filter((r) => r.status === 'failed').length === 4, 'four failed reports', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'fails')).toHaveLength(1);
    expect(resultsOf('fails').filter((r) => r.status === 'failed').every((r) => r.error === 'the mail server said no')).toBe(true);
  });

  it('waits for a live claim of a crashed worker to expire, then takes it over and runs once', async () => {
    const message = dispatchMessage('orphan', 1);
    const request = { topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: { channel: 'email' }, payload: { n: 'orphan' } };
    const crashed = await claims.claim({ key: 'orphan:dispatch', jobId: 'orphan', jobHash: jobHash(request), owner: 'crashed-worker', leaseMs: 1500 });
    expect(crashed.status).toBe('claimed');
    const published = Date.now();
    await bus.publish(topics.dispatch, [message]);
    await eventually(() => runs.some((r) => r.job.job_id === 'orphan'), 'the takeover run', 30_000);
    expect(Date.now() - published).toBeGreaterThanOrEqual(1000);
    await eventually(() => resultsOf('orphan').filter((r) => r.status === 'succeeded').length === 2, 'both workers report', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'orphan')).toHaveLength(1);
    expect(await claims.get('orphan:dispatch')).toMatchObject({ status: 'succeeded', runs: 2 });
  });
});
