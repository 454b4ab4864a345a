import { randomBytes } from 'node:crypto';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { SigningKeySet } from '@signoff/keys';
import { InboundMessage, KafkaMessageBus, OutboundMessage } from '@signoff/messaging';
import { jobHash } from '@signoff/policy-engine';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { testKeys, withGrant } from '../../../test/support/keys';
import { eventually } from '../../../test/support/wait';
import { openClaimStore } from './claim-store.factory';
import { ClaimStore } from './claim-store.port';
import { DispatchedJob } from './dispatch-verification';
import { createWorker, Worker } from './worker';

const quiet = () => undefined;

const WORKER_TOKEN = 'worker-credential';

/** An unsigned dispatch message (what anyone who can write the topic can produce). */
function unsignedDispatch(jobId: string, attempt: number, payload: unknown = { n: jobId }): OutboundMessage {
  const request = { topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: { channel: 'email' }, payload };
  const key = `${jobId}:dispatch`;
  return {
    key: jobId,
    value: { job_id: jobId, ...request, attempt, idempotency_key: key },
    headers: { 'idempotency-key': key, 'job-hash': jobHash(request) },
  };
}

/** The dispatch message as the dispatcher publishes it: with its signed grant. */
function dispatchMessage(jobId: string, attempt: number, payload: unknown = { n: jobId }): Promise<OutboundMessage> {
  return withGrant(unsignedDispatch(jobId, attempt, payload));
}

describe('createWorker on the real broker and PostgreSQL', () => {
  const prefix = `wsdk${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  let bus: KafkaMessageBus;
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  let claims: ClaimStore;
  const results: InboundMessage[] = [];
  const dlq: InboundMessage[] = [];
  const runs: Array<{ worker: string; job: DispatchedJob }> = [];
  const workers: Worker[] = [];
  const registry = new Registry();

  const resultsOf = (jobId: string) =>
    results
      .filter((m) => m.key === jobId)
      .map((m) => ({
        ...(JSON.parse(m.value!.toString()) as { status: string; result?: unknown; error?: string; worker: string; idempotency_key: string; attempt: number; tenant?: string }),
        authorization: m.headers.authorization,
      }));
  const deadLettered = (jobId: string) => dlq.filter((m) => m.key === jobId).map((m) => m.headers['error-code']);
  const refusedMetric = async (code: string) => {
    const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`signoff_worker_dispatch_refused_total{code="${code}"}`));
    return line ? Number(line.split(' ').at(-1)) : NaN;
  };

  beforeAll(async () => {
    bus = new KafkaMessageBus({ brokers: testKafkaBrokers(), clientId: 'worker-sdk-test', log: quiet });
    await bus.ensureTopics([
      { name: topics.dispatch, partitions: DEFAULT_PARTITIONS },
      { name: topics.dispatchDlq, partitions: DEFAULT_PARTITIONS },
      { name: topics.results, partitions: DEFAULT_PARTITIONS },
    ]);
    db = await createTestDatabase('worker');
    pool = new Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    claims = await openClaimStore(pool);
    await bus.subscribe({ groupId: `${prefix}results-reader`, topics: [topics.results], handler: async (m) => void results.push(m) });
    await bus.subscribe({ groupId: `${prefix}dlq-reader`, topics: [topics.dispatchDlq], handler: async (m) => void dlq.push(m) });
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
        grantKeys: testKeys().keys.publicJwks(),
        workerToken: WORKER_TOKEN,
        registry,
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
    await bus.publish(topics.dispatch, await Promise.all(jobIds.map((id) => dispatchMessage(id, 1))));
    await bus.publish(topics.dispatch, await Promise.all(jobIds.map((id) => dispatchMessage(id, 2))));
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
      // Every report names the attempt it answers and carries the worker's credential.
      expect(reports.map((r) => r.attempt).sort()).toEqual([1, 1, 1, 2, 2]);
      expect(reports.every((r) => r.authorization === `Bearer ${WORKER_TOKEN}`)).toBe(true);
      // Every report names the job as its dispatch did: job ids are scoped by tenant.
      for (const r of reports) expect(r.tenant).toBe('t1');
      expect(await claims.get(`${id}:dispatch`)).toMatchObject({ status: 'succeeded', runs: 1 });
    }
    const sideEffects = await pool.query('SELECT count(*)::int AS n FROM signoff_worker_claims');
    expect(sideEffects.rows[0].n).toBe(12);
  });

  it('never runs a job whose content does not match its granted job hash: dead-lettered job_hash_mismatch, nothing reported or claimed', async () => {
    const good = await dispatchMessage('tampered', 1, { amount: 10 });
    const tampered: OutboundMessage = { ...good, value: { ...(good.value as object), payload: { amount: 10_000 } } };
    await bus.publish(topics.dispatch, [tampered]);
    await eventually(() => deadLettered('tampered').length >= 2, 'both workers dead-letter the message', 30_000);
    expect(deadLettered('tampered')).toEqual(['job_hash_mismatch', 'job_hash_mismatch']);
    expect(dlq.find((m) => m.key === 'tampered')!.headers['error-detail']).toMatch(/granted job hash/);
    expect(runs.filter((r) => r.job.job_id === 'tampered')).toHaveLength(0);
    // A refused message says nothing about the job it names: no report (a forgery must not fail a
    // real job), and no claim (a genuine delivery of the key may still run).
    expect(resultsOf('tampered')).toEqual([]);
    expect(await claims.get('tampered:dispatch')).toBeNull();
    await bus.publish(topics.dispatch, [good]);
    await eventually(() => resultsOf('tampered').filter((r) => r.status === 'succeeded').length === 2, 'the genuine delivery runs', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'tampered')).toHaveLength(1);
  });

  it('runs nothing that is unsigned, signed by an unknown key, or whose grant does not match: dead-lettered with error-code, counted', async () => {
    const before = { unsigned: await refusedMetric('unsigned'), unknown: await refusedMetric('unknown_key'), mismatch: await refusedMetric('grant_mismatch') };
    const stranger = SigningKeySet.generate();
    const genuine = await dispatchMessage('forged-3', 1);
    const replayedAsAttempt2: OutboundMessage = { ...genuine, value: { ...(genuine.value as object), attempt: 2 } };
    await bus.publish(topics.dispatch, [
      unsignedDispatch('forged-1', 1),
      await withGrant(unsignedDispatch('forged-2', 1), stranger),
      replayedAsAttempt2,
    ]);
    await eventually(() => ['forged-1', 'forged-2', 'forged-3'].every((id) => deadLettered(id).length === 2), 'every forgery dead-lettered by both workers', 30_000);
    expect(deadLettered('forged-1')).toEqual(['unsigned', 'unsigned']);
    expect(deadLettered('forged-2')).toEqual(['unknown_key', 'unknown_key']);
    expect(deadLettered('forged-3')).toEqual(['grant_mismatch', 'grant_mismatch']);
    for (const id of ['forged-1', 'forged-2', 'forged-3']) {
      expect(runs.filter((r) => r.job.job_id === id)).toHaveLength(0);
      expect(resultsOf(id)).toEqual([]);
      expect(await claims.get(`${id}:dispatch`)).toBeNull();
    }
    const letter = dlq.find((m) => m.key === 'forged-2')!;
    expect(letter.headers).toMatchObject({ 'original-topic': topics.dispatch, 'error-code': 'unknown_key', 'refused-by': expect.stringMatching(/^w[12]$/) });
    expect(JSON.parse(letter.value!.toString())).toMatchObject({ job_id: 'forged-2' });
    expect(await refusedMetric('unsigned')).toBe(before.unsigned + 2);
    expect(await refusedMetric('unknown_key')).toBe(before.unknown + 2);
    expect(await refusedMetric('grant_mismatch')).toBe(before.mismatch + 2);
  });

  it('refuses invalid and unsigned messages without blocking the partition', async () => {
    const bad: OutboundMessage[] = [
      { key: 'poison', value: Buffer.from('{not json') },
      await withGrant({ key: 'poison', value: { job_id: 'poison', tenant: 't1', attempt: 1, idempotency_key: 'poison:dispatch', hello: 'world' }, headers: { 'job-hash': `sha256:${'0'.repeat(64)}` } }),
    ];
    await bus.publish(topics.dispatch, [...bad, await dispatchMessage('poison', 1)]);
    await eventually(() => resultsOf('poison').filter((r) => r.status === 'succeeded').length === 2, 'the valid message after the poison ones', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'poison')).toHaveLength(1);
    await eventually(() => deadLettered('poison').length === 4, 'both poison messages dead-lettered by both workers', 30_000);
    expect(deadLettered('poison').sort()).toEqual(['invalid_message', 'invalid_message', 'unsigned', 'unsigned']);
    const letters = dlq.filter((m) => m.key === 'poison');
    expect(letters.map((m) => m.headers['original-topic'])).toEqual(Array(4).fill(topics.dispatch));
    expect(letters.every((m) => (m.headers['error-detail'] ?? '').length > 0)).toBe(true);
  });

  it('a failing side effect is stored as failed and reported again, never retried', async () => {
    await bus.publish(topics.dispatch, [await dispatchMessage('fails', 1, { fail: true }), await dispatchMessage('fails', 2, { fail: true })]);
    await eventually(() => resultsOf('fails').filter((r) => r.status === 'failed').length === 4, 'four failed reports', 30_000);
    expect(runs.filter((r) => r.job.job_id === 'fails')).toHaveLength(1);
    expect(resultsOf('fails').filter((r) => r.status === 'failed').every((r) => r.error === 'the mail server said no')).toBe(true);
  });

  it('waits for the live claim of a worker that crashed before its side effect began, then takes it over and runs once', async () => {
    const message = await dispatchMessage('orphan', 1);
    const request = { topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: { channel: 'email' }, payload: { n: 'orphan' } };
    const crashed = await claims.claim({ key: 'orphan:dispatch', jobId: 'orphan', jobHash: jobHash(request), owner: 'crashed-worker', leaseMs: 1500, mode: 'external' });
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
