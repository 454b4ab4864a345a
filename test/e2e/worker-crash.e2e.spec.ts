import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { signoffTopics } from '@signoff/contracts';
import { InboundMessage, KafkaMessageBus, OutboundMessage } from '@signoff/messaging';
import { JsonLogger } from '@signoff/observability';
import { jobHash } from '@signoff/policy-engine';
import { ClaimBusyError, createWorker, ProcessOutcome, Worker } from '@signoff/worker-sdk';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresHandle, startPostgres, stopPostgresProcess } from '../../deploy/local/postgres/postgres';
import { demoWorkerMode, sideEffectTable } from '@signoff/demo-worker';
import { TopicRecorder, waitFor } from '@signoff/dispatch-service/testing';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testKeys, testTrustEnv, testWorkerToken, withGrant } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';

type Mode = 'transactional' | 'idempotent' | 'external';
type Fault = 'after-claim' | 'after-effect' | 'before-complete';

const LEASE_MS = 1000;

/**
 * The worker SDK's exactly-once contract under real crashes: a demo worker (its own process, on
 * the real broker and PostgreSQL) is SIGKILLed at each step of a run, in each mode, and a second
 * worker (the same demo handler, in this process) then gets the same dispatch, as a rebalance or
 * a replay delivers it; the side effects are counted where they land.
 * - transactional: the effect row is written in the claim's transaction: exactly 1 row, whatever
 *   the step (what the killed worker wrote was rolled back with its completion);
 * - idempotent: the downstream (dedupes by key, fences by token) holds 1 effect; the takeover
 *   called it again with a higher fencing token;
 * - external: killed after the claim, nothing ran and the second worker runs it (1); killed after
 *   the effect or before the completion, the second worker marks the claim unknown and reports
 *   `unknown`: 1 effect, never 2 (today's SDK ran it again: 2).
 * And with the claim database (PostgreSQL) restarted while handlers run: a worker killed during
 * the outage (the "RUNNING for good, effect done"), and a worker that survives it.
 */
describe('worker killed at each step, per mode: side effects counted', () => {
  const brokers = testKafkaBrokers();
  const started: ServiceProcess[] = [];
  let bus: KafkaMessageBus;
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  let creating: Promise<void> = Promise.resolve();
  const closers: Array<() => Promise<void>> = [];
  let trust: Record<string, string>;
  let survivorToken: string;

  /** Hands a worker the dispatch of a job the way the bus does: again and again while its key is busy. */
  const deliver = async (w: Worker, jobId: string): Promise<ProcessOutcome> => {
    const m = await dispatchMessage(jobId);
    const message: InboundMessage = {
      topic: 'dispatch',
      partition: 0,
      offset: '0',
      key: m.key,
      value: Buffer.from(JSON.stringify(m.value)),
      headers: m.headers ?? {},
      timestamp: String(Date.now()),
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await w.process(message);
      } catch (error) {
        if (!(error instanceof ClaimBusyError) || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const request = (jobId: string) => ({ topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: { channel: 'email' }, payload: { n: jobId } });
  /** The dispatch as the dispatcher publishes it: with its signed grant (every worker verifies it first). */
  const dispatchMessage = (jobId: string, attempt = 1): Promise<OutboundMessage> => {
    const key = `${jobId}:dispatch`;
    return withGrant({
      key: jobId,
      value: { job_id: jobId, ...request(jobId), attempt, idempotency_key: key },
      headers: { 'idempotency-key': key, 'job-hash': jobHash(request(jobId)) },
    });
  };
  const exited = (p: ServiceProcess) =>
    new Promise<NodeJS.Signals | null>((resolve) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) resolve(p.child.signalCode);
      else p.child.once('exit', (_code, signal) => resolve(signal));
    });

  /** One scenario's topics and results recorder (a prefix of its own: no scenario sees another's messages). */
  const setUp = async (name: string) => {
    const prefix = `wc${randomBytes(3).toString('hex')}.`;
    const topics = signoffTopics(prefix);
    // One topic creation at a time, retried: creating topics races in the broker's metadata (issue 10, section 7).
    const create = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await bus.ensureTopics([
            { name: topics.dispatch, partitions: 6 },
            { name: topics.results, partitions: 6 },
            // The workers create the dispatch dead-letter topic too: made here, they find it and create nothing.
            { name: topics.dispatchDlq, partitions: 6 },
          ]);
        } catch (error) {
          if (attempt >= 8) throw error;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    };
    const mine = creating.then(create);
    creating = mine.catch(() => undefined);
    await mine;
    const results = await TopicRecorder.start(bus, topics.results);
    const jobId = `job-${name}`;
    const worker = async (id: string, databaseUrl: string, mode: Mode, extra: Record<string, string> = {}) => {
      const p = await startApp('demo-worker', {
        ...trust,
        KAFKA_BROKERS: brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        WORKER_DATABASE_URL: databaseUrl,
        WORKER_ID: id,
        // A group of its own: it reads the dispatch topic from the beginning, as a rebalance or a replay would deliver it.
        WORKER_GROUP_ID: `${prefix}${id}`,
        WORKER_MODE: mode,
        WORKER_LEASE_MS: String(LEASE_MS),
        LOG_LEVEL: 'info',
        ...extra,
      });
      started.push(p);
      return p;
    };
    /** The second worker: the same demo handler and mode, in this process; handles the dispatch as the bus would (retrying while the key is busy). */
    const survivor = async (id: string, databaseUrl: string, mode: Mode) => {
      const effects = await sideEffectTable(databaseUrl);
      const w = await createWorker({
        bus,
        topicPrefix: prefix,
        databaseUrl,
        workerId: id,
        leaseMs: LEASE_MS,
        log: () => undefined,
        grantKeys: testKeys().keys.publicJwks(),
        workerToken: survivorToken,
        ...demoWorkerMode(mode, effects.db, new JsonLogger('survivor', 'error')),
      });
      closers.push(async () => {
        await w.stop();
        await effects.close();
      });
      return { worker: w, handle: () => deliver(w, jobId) };
    };
    const reports = () =>
      results.forJob(jobId).map((m) => ({
        ...(m.json as { status: string; worker: string; error?: string; fencing_token?: number; attempt: number; tenant?: string }),
        authorization: m.headers.authorization,
      }));
    const finalReport = async (by: string) => {
      await waitFor(() => reports().some((r) => r.worker === by && r.status !== 'started'), `a final report by ${by} for ${jobId}`, 60_000);
      return reports().find((r) => r.worker === by && r.status !== 'started')!;
    };
    return {
      prefix,
      topics,
      results,
      jobId,
      key: `${jobId}:dispatch`,
      worker,
      survivor,
      reports,
      finalReport,
      publish: async () => bus.publish(topics.dispatch, [await dispatchMessage(jobId)]),
    };
  };

  const count = async (q: Pool, sql: string, key: string): Promise<number> => Number((await q.query(sql, [key])).rows[0].n);
  const effectRows = (q: Pool, key: string) => count(q, 'SELECT count(*)::int AS n FROM demo_worker_side_effects WHERE idempotency_key = $1', key);
  const downstreamRows = (q: Pool, key: string) => count(q, 'SELECT count(*)::int AS n FROM demo_downstream WHERE idempotency_key = $1', key);
  const downstreamCalls = async (q: Pool, key: string) =>
    (await q.query('SELECT fencing_token, answer FROM demo_downstream_calls WHERE idempotency_key = $1 ORDER BY id', [key])).rows as Array<{ fencing_token: number; answer: string }>;
  const claimOf = async (q: Pool, key: string) =>
    (await q.query('SELECT status, runs, owner, mode, effect_started FROM signoff_worker_claims WHERE idempotency_key = $1', [key])).rows[0] as
      | { status: string; runs: number; owner: string; mode: string; effect_started: boolean }
      | undefined;

  /** What each mode must show after the crash, in the claim table and where its effect landed. */
  async function expectExactlyOnce(q: Pool, mode: Mode, key: string, final: { status: string; fencing_token?: number }, effectBegan: boolean): Promise<void> {
    switch (mode) {
      case 'transactional':
        expect(final.status).toBe('succeeded');
        expect(await effectRows(q, key)).toBe(1);
        expect(await claimOf(q, key)).toMatchObject({ status: 'succeeded', runs: 2 });
        return;
      case 'idempotent': {
        expect(final.status).toBe('succeeded');
        expect(await downstreamRows(q, key)).toBe(1);
        const calls = await downstreamCalls(q, key);
        // The takeover called again with a higher token; the downstream applied the effect once.
        expect(calls.map((c) => [c.fencing_token, c.answer])).toEqual(effectBegan ? [[1, 'applied'], [2, 'duplicate']] : [[2, 'applied']]);
        expect(await claimOf(q, key)).toMatchObject({ status: 'succeeded', runs: 2 });
        return;
      }
      case 'external':
        expect(await effectRows(q, key)).toBe(1);
        if (effectBegan) {
          expect(final).toMatchObject({ status: 'unknown', fencing_token: 1, error: expect.stringMatching(/expired after its side effect began/) });
          expect(await claimOf(q, key)).toMatchObject({ status: 'unknown', runs: 1, owner: 'A', effect_started: true });
        } else {
          expect(final.status).toBe('succeeded');
          expect(await claimOf(q, key)).toMatchObject({ status: 'succeeded', runs: 2 });
        }
        return;
      default: {
        const _exhaustive: never = mode;
        throw new Error(String(_exhaustive));
      }
    }
  }

  beforeAll(async () => {
    bus = new KafkaMessageBus({ brokers, clientId: 'e2e-worker-crash', log: () => undefined });
    db = await createTestDatabase('e2ewc');
    pool = new Pool({ connectionString: db.url, max: 3 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    trust = await testTrustEnv();
    survivorToken = await testWorkerToken('survivor');
  });

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    for (const close of closers) await close().catch(() => undefined);
    await bus?.close();
    await pool?.end();
    await db?.drop();
  });

  const MATRIX: ReadonlyArray<[Mode, Fault]> = (['transactional', 'idempotent', 'external'] as const).flatMap((mode) =>
    (['after-claim', 'after-effect', 'before-complete'] as const).map((fault): [Mode, Fault] => [mode, fault]),
  );

  it.concurrent.each(MATRIX)('%s, SIGKILLed %s: the effect happens once (or the job is reported unknown with its one effect)', async (mode, fault) => {
    const s = await setUp(`${mode}-${fault}`);
    const a = await s.worker('A', db.url, mode, { WORKER_FAULT: fault, WORKER_FAULT_JOB: s.jobId });
    await s.publish();
    expect(await exited(a)).toBe('SIGKILL');
    expect(a.output()).toContain(`WORKER_FAULT=${fault}`);
    expect(s.reports().filter((r) => r.status !== 'started')).toEqual([]);

    // Another worker gets the dispatch: it waits for A's lease to expire, then applies the rules.
    const b = await s.survivor('B', db.url, mode);
    const outcome = await b.handle();
    const final = await s.finalReport('B');
    expect(outcome).toBe(final.status === 'unknown' ? 'unknown' : 'ran');
    await expectExactlyOnce(pool, mode, s.key, final, fault !== 'after-claim');
    // Every later delivery answers the same without running anything.
    expect(await b.handle()).toBe(final.status === 'unknown' ? 'unknown' : 'duplicate');
    await waitFor(() => s.reports().filter((r) => r.worker === 'B' && r.status === final.status).length >= 2, 'the repeated report');
    await expectExactlyOnce(pool, mode, s.key, final, fault !== 'after-claim');
    // Every report (`unknown` too) names the attempt and the job's tenant and carries its worker's credential.
    for (const r of s.reports()) {
      expect(r).toMatchObject({ attempt: 1, tenant: 't1' });
      expect(r.authorization).toBe(`Bearer ${r.worker === 'B' ? survivorToken : trust.SIGNOFF_WORKER_TOKEN}`);
    }
    await s.results.stop();
  });

  describe('with the claim database restarted while the handlers run', () => {
    let pg: PostgresHandle;
    let port: number;
    let q: Pool;
    const MODES: readonly Mode[] = ['transactional', 'idempotent', 'external'];

    const restartPostgres = async (whileDown: () => Promise<void>) => {
      await stopPostgresProcess(pg.pid!);
      await whileDown();
      pg = await startPostgres({ dataDir: dataDir(), port });
    };
    const dataDir = () => pg.dataDir!;

    beforeAll(async () => {
      // A cluster of our own (the shared one serves every other test file), restarted on its data directory and port.
      pg = await startPostgres({});
      if (pg.pid === null) throw new Error('this test restarts a PostgreSQL of its own: it needs the server binaries, not DATABASE_URL');
      port = Number(new URL(pg.url).port);
      q = new Pool({ connectionString: pg.url, max: 2 });
      q.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
      q.on('error', () => undefined);
    });

    afterAll(async () => {
      await q?.end();
      if (pg?.pid) await stopPostgresProcess(pg.pid);
      if (pg?.dataDir) fs.rmSync(pg.dataDir, { recursive: true, force: true });
    });

    it('a worker SIGKILLed while PostgreSQL was down, its effect done: transactional 1 (rerun), idempotent 1 downstream, external UNKNOWN with 1', async () => {
      const scenarios = await Promise.all(MODES.map(async (mode) => ({ mode, s: await setUp(`pgkill-${mode}`) })));
      const workers = await Promise.all(scenarios.map(({ mode, s }) => s.worker('A', pg.url, mode, { DEMO_WORK_MS: '120000' })));
      for (const { s } of scenarios) await s.publish();
      // Each handler did its effect (the transactional one inside its open transaction) and is still working.
      await waitFor(() => workers.every((w) => w.output().includes('"msg":"side effect"')), 'every effect under way', 60_000);
      await restartPostgres(async () => {
        for (const w of workers) w.child.kill('SIGKILL');
        await Promise.all(workers.map(exited));
      });
      for (const { mode, s } of scenarios) {
        await (await s.survivor('B', pg.url, mode)).handle();
        const final = await s.finalReport('B');
        await expectExactlyOnce(q, mode, s.key, final, true);
        await s.results.stop();
      }
    });

    it('a worker that survives the restart: the outcome is stored once the database is back (transactional: the rolled-back run is run again)', async () => {
      const scenarios = await Promise.all(MODES.map(async (mode) => ({ mode, s: await setUp(`pgsurvive-${mode}`) })));
      const workers = await Promise.all(scenarios.map(({ mode, s }) => s.worker('A', pg.url, mode, { DEMO_WORK_MS: '4000' })));
      for (const { s } of scenarios) await s.publish();
      await waitFor(() => workers.every((w) => w.output().includes('"msg":"side effect"')), 'every effect under way', 60_000);
      // Down for longer than the lease: renewals fail and the local deadline passes (the signal fires).
      await restartPostgres(() => new Promise((r) => setTimeout(r, LEASE_MS * 2)));
      for (const [i, { mode, s }] of scenarios.entries()) {
        const final = await s.finalReport('A');
        expect(final.status).toBe('succeeded');
        if (mode === 'transactional') {
          expect(await effectRows(q, s.key)).toBe(1);
          // The first transaction died with the server; the redelivery took the expired claim over and ran it again.
          expect(await claimOf(q, s.key)).toMatchObject({ status: 'succeeded', runs: 2 });
        } else if (mode === 'idempotent') {
          expect(await downstreamRows(q, s.key)).toBe(1);
          expect(await claimOf(q, s.key)).toMatchObject({ status: 'succeeded', runs: 1 });
        } else {
          expect(await effectRows(q, s.key)).toBe(1);
          expect(await claimOf(q, s.key)).toMatchObject({ status: 'succeeded', runs: 1 });
        }
        // What the worker lived through: its transaction lost and the claim taken over again, or renewals and the store retried.
        expect(workers[i].output()).toMatch(mode === 'transactional' ? /took over an expired claim/ : /lease renewal failed|storing the outcome failed/);
        await s.results.stop();
      }
    });
  });
});
