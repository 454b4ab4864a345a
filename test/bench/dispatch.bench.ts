/**
 * Dispatch benchmark: the dispatch service as its own process (`apps/dispatch-service/src/main.ts`,
 * as `npm run start:dispatch` runs it) on PostgreSQL and the real Kafka broker.
 *
 *   node -r ./tools/register.cjs test/bench/dispatch.bench.ts
 *
 * BENCH_DATABASE_URL, BENCH_KAFKA_BROKERS: the servers (`npm run bench` starts both). Measures
 * 1. approve -> dispatch latency (target p99 < 20 ms): ApprovalGranted stored -> the approved notification (as the
 *    approval service's relay sends it) -> claimed, published -> the dispatch message received by
 *    a consumer; p50/p99 over sequential approvals;
 * 2. throughput: a burst of allowed jobs announced on `jobs.evaluated` -> every JobDispatched
 *    stored, next to a raw kafkajs consume -> produce pipe (its own process too) on the same broker
 *    in the same run: same partitions, same consumer concurrency, idempotent producer with acks
 *    from all replicas. Target >= 0.8 of the pipe. Then a burst of BENCH_APPROVED_JOBS (2,000)
 *    approved jobs on `jobs.approved` (each grant judged by the log before its claim);
 * 3. restart -> dispatch of a job approved while the dispatcher was down: with the approved
 *    notification waiting on Kafka, and with it lost (replay from the event log after the grace).
 *    Target < 5 s;
 * 4. the replay of stuck jobs (allowed, never announced, past the grace) by a freshly started
 *    dispatcher: projection rebuild from position 0, DispatchReplayed, claim, publish,
 *    JobDispatched. BENCH_STUCK_JOBS (default 100,000) are seeded in bulk (multi-row INSERTs, not
 *    measured) and measured from spawning the process. Target 100,000 in < 30 s.
 * BENCH_DISPATCH_PHASES (latency,throughput,restart,replay) picks phases;
 * BENCH_DISPATCHER_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=DIR`) profiles the dispatcher.
 * BENCH_LATENCY_SAMPLES (200) and BENCH_THROUGHPUT_JOBS (5,000) size the rest.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { decide, identifyEvents, initialState, SubmitJob } from '@signoff/approvals';
import { signoffTopics, toJobStreamId } from '@signoff/contracts';
import { createEventStore, EventStore } from '@signoff/event-store';
import { KafkaMessageBus, patchKafkaJsNegativeTimeout } from '@signoff/messaging';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { Kafka, logLevel } from 'kafkajs';

// kafkajs's negative timer (TimeoutNegativeWarning on Node 24): see @signoff/messaging.
patchKafkaJsNegativeTimeout();
import { Client, Pool } from 'pg';
import { activateTestPolicy, approveTestJob, commandsFor, submitTestJob, TEST_SNAPSHOT } from '@signoff/dispatch-service/testing';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';

const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const THROUGHPUT_JOBS = Number(process.env.BENCH_THROUGHPUT_JOBS ?? 5000);
const STUCK_JOBS = Number(process.env.BENCH_STUCK_JOBS ?? 100_000);
/** Which phases run (comma-separated: latency, throughput, restart, replay); all by default. */
const PHASES = new Set((process.env.BENCH_DISPATCH_PHASES ?? 'latency,throughput,restart,replay').split(','));
/** Extra node options of the dispatcher process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it. */
const DISPATCHER_NODE_OPTIONS = process.env.BENCH_DISPATCHER_NODE_OPTIONS;
const APPROVED_JOBS = Number(process.env.BENCH_APPROVED_JOBS ?? 2000);
const GRACE_MS = 2000;
/** kafkajs's partitionsConsumedConcurrently in libs/messaging's KafkaMessageBus, used by the raw pipe too. */
const CONSUMER_CONCURRENCY = 6;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Polls `check` every `everyMs` (checks that query the database poll slowly, not to load it). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** The events of an allowed job (JobSubmitted + PolicyEvaluated), decided by the real decider. */
function allowedJobEvents(id: string, at: string) {
  const request = normalizeJobRequest({ topic: 'knowledge.read', submitted_by: 'bench', labels: { env: 'dev' }, payload: { n: id } });
  const command: SubmitJob = {
    type: 'SubmitJob',
    data: {
      job_id: id,
      request,
      job_hash: jobHash(request),
      policy: { decision: 'allow', rule_id: 'allow-readonly', reason: 'bench', policy_snapshot: TEST_SNAPSHOT, policy_version: 'v1' },
    },
    metadata: { commandId: randomUUID(), correlationId: id, actor: 'bench', now: at },
  };
  const result = decide(command, initialState());
  if (!result.ok) throw new Error(result.message);
  return identifyEvents(command.metadata.commandId, result.events);
}

/** Stores allowed jobs through the event store's port, 16 at a time. */
async function seedAllowedJobs(store: EventStore, ids: readonly string[], at: string): Promise<void> {
  await forEachConcurrently(ids, 16, async (id) => {
    await store.appendToStream(toJobStreamId({ tenant: 'default', jobId: id }), allowedJobEvents(id, at), { expectedRevision: 'no_stream' });
  });
}

/**
 * Stores many allowed jobs fast, for the replay phase only (its seeding is not measured): 1,000
 * new streams per multi-row INSERT straight into the PostgreSQL adapter's tables, two at a time,
 * the rows the adapter itself would write for a `no_stream` append of each job's two events.
 */
async function seedAllowedJobsInBulk(sql: Pool, ids: readonly string[], at: string): Promise<void> {
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 1000) chunks.push(ids.slice(i, i + 1000) as string[]);
  await forEachConcurrently(chunks, 2, async (chunk) => {
    const rows = chunk.flatMap((id) =>
      allowedJobEvents(id, at).map((event, revision) => ({ stream_id: toJobStreamId({ tenant: 'default', jobId: id }), revision, event_id: event.id, type: event.type, data: event.data, metadata: event.metadata })),
    );
    await sql.query(
      `WITH e AS (
         INSERT INTO event_store.events (stream_id, revision, event_id, type, data, metadata)
         SELECT r.stream_id, r.revision, r.event_id, r.type, r.data, r.metadata
         FROM jsonb_to_recordset($1::jsonb) AS r(stream_id text, revision bigint, event_id uuid, type text, data jsonb, metadata jsonb)
         ORDER BY r.stream_id, r.revision
         RETURNING stream_id, revision
       )
       INSERT INTO event_store.streams (stream_id, revision) SELECT stream_id, max(revision) FROM e GROUP BY stream_id`,
      [JSON.stringify(rows)],
    );
  });
}

async function main(): Promise<void> {
  const dbBase = process.env.BENCH_DATABASE_URL;
  const brokers = process.env.BENCH_KAFKA_BROKERS?.split(',');
  if (!dbBase || !brokers) throw new Error('BENCH_DATABASE_URL and BENCH_KAFKA_BROKERS are required (npm run bench sets them)');
  const dbName = `bench_dispatch_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: dbBase });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = Object.assign(new URL(dbBase), { pathname: `/${dbName}` }).toString();
  const prefix = `bench${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const env = {
    EVENT_STORE_URL: dbUrl,
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    DISPATCH_GRACE_MS: String(GRACE_MS),
    // No worker runs here: published jobs are never acknowledged and must not be replayed for it.
    WORKER_ACK_TIMEOUT_MS: '3600000',
    LOG_LEVEL: 'error',
    ...(DISPATCHER_NODE_OPTIONS ? { NODE_OPTIONS: DISPATCHER_NODE_OPTIONS } : {}),
    // The dispatcher signs every dispatch and verifies worker credentials (DESIGN section 12).
    ...(await testTrustEnv()),
  };
  const store = await createEventStore(dbUrl);
  const sql = new Pool({ connectionString: dbUrl, max: 2 });
  // DROP DATABASE ... WITH (FORCE) at the end can reach a connection pool.end() is still closing.
  sql.on('error', () => undefined);
  const commands = commandsFor(store);
  await activateTestPolicy(store);
  const bus = new KafkaMessageBus({ brokers, clientId: 'bench-dispatch', log: () => undefined });
  await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));

  // The first arrival time of every job's dispatch message.
  const arrived = new Map<string, number>();
  const watcher = await bus.subscribe({
    groupId: `${prefix}watcher`,
    topics: [topics.dispatch],
    handler: async (m) => {
      if (m.key && !arrived.has(m.key)) arrived.set(m.key, performance.now());
    },
  });
  const dispatchedCount = async (like: string): Promise<number> => {
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM event_store.events WHERE type = 'JobDispatched' AND stream_id LIKE $1`, [like]);
    return rows[0].n as number;
  };

  let dispatcher: ServiceProcess | null = null;
  const rows: string[][] = [];
  try {
    // Phases 1 and 2 measure the notification path. A burst of thousands of jobs waits longer than
    // the 2 s grace in the notification backlog; the replay consumer would start dispatching them
    // too (correct, but then it is not the notification path being measured): grace 10 min here.
    if (PHASES.has('latency') || PHASES.has('throughput')) dispatcher = await startApp('dispatch-service', { ...env, DISPATCH_GRACE_MS: '600000' });

    // 1. approve -> dispatch latency
    if (PHASES.has('latency') || PHASES.has('throughput')) {
    const warm = await submitTestJob(commands, 'warm', 'allow');
    await bus.publish(topics.evaluated, [{ key: warm.jobId, value: { job_id: warm.jobId, decision: 'allow' } }]);
    await until(() => arrived.has('warm'), 'the dispatcher and the watcher to join their groups', 60_000);
    }
    if (PHASES.has('latency')) {
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const job = await submitTestJob(commands, `lat-${i}`, 'require_human');
      const t0 = performance.now();
      const approvalId = await approveTestJob(commands, job);
      await bus.publish(topics.approved, [{ key: job.jobId, value: { job_id: job.jobId, approval_id: approvalId } }]);
      await until(() => arrived.has(job.jobId), `lat-${i}`, 30_000, 1);
      latencies.push(arrived.get(job.jobId)! - t0);
    }
    latencies.sort((a, b) => a - b);
    log(`latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
    const p99 = percentile(latencies, 99);
    rows.push([
      'approve -> dispatch latency p50 / p99',
      `${percentile(latencies, 50).toFixed(1)} ms / ${p99.toFixed(1)} ms`,
      `${p99 < 20 ? 'target p99 < 20 ms: met' : 'target p99 < 20 ms: NOT met'}; ${LATENCY_SAMPLES} sequential approvals: grant stored -> notification -> claim, publish -> dispatch message consumed`,
    ]);
    }

    if (PHASES.has('throughput')) {

    // 2. throughput vs a raw kafkajs pipe
    const ids = Array.from({ length: THROUGHPUT_JOBS }, (_, i) => `tp-${i}`);
    await seedAllowedJobs(store, ids, new Date().toISOString());
    const tpStart = performance.now();
    for (let i = 0; i < ids.length; i += 500) {
      await bus.publish(topics.evaluated, ids.slice(i, i + 500).map((id) => ({ key: id, value: { job_id: id, decision: 'allow' } })));
    }
    await until(async () => (await dispatchedCount('job-tp-%')) === ids.length, 'throughput jobs recorded', 120_000, 50);
    const dispatchRate = ids.length / ((performance.now() - tpStart) / 1000);

    // 2b. the same for approved jobs: each grant is judged by the log before its claim
    const approved = Array.from({ length: APPROVED_JOBS }, (_, i) => `ap-${i}`);
    const approvalIds = new Map<string, string>();
    await forEachConcurrently(approved, 16, async (id) => {
      approvalIds.set(id, await approveTestJob(commands, await submitTestJob(commands, id, 'require_human')));
    });
    const apStart = performance.now();
    for (let i = 0; i < approved.length; i += 500) {
      await bus.publish(topics.approved, approved.slice(i, i + 500).map((id) => ({ key: id, value: { job_id: id, approval_id: approvalIds.get(id) } })));
    }
    await until(async () => (await dispatchedCount('job-ap-%')) === approved.length, 'approved jobs recorded', 120_000, 50);
    const approvedRate = approved.length / ((performance.now() - apStart) / 1000);
    log(`dispatcher, approved jobs: ${approvedRate.toFixed(0)} jobs/s`);
    log(`dispatcher: ${dispatchRate.toFixed(0)} jobs/s`);
    const rawRate = await rawPipe(brokers, prefix, THROUGHPUT_JOBS);
    log(`raw kafkajs pipe: ${rawRate.toFixed(0)} msg/s`);
    const ratio = dispatchRate / rawRate;
    rows.push([
      'evaluated notification -> dispatch throughput',
      `${dispatchRate.toFixed(0)} jobs/s`,
      `${THROUGHPUT_JOBS} allowed jobs announced at once; until every JobDispatched is stored (read, claim, publish, record per job). The policy service's requested -> evaluated hop is in its own benchmark`,
    ]);
    rows.push([
      'raw kafkajs consume -> produce pipe, same run, same broker',
      `${rawRate.toFixed(0)} msg/s`,
      `own process, eachMessage with ${CONSUMER_CONCURRENCY} partitions at a time, idempotent producer, acks -1, 6 partitions`,
    ]);
    rows.push(['dispatcher / raw pipe', ratio.toFixed(2), ratio >= 0.8 ? 'target >= 0.80: met' : 'target >= 0.80: NOT met']);
    rows.push([
      'approved notification -> dispatch throughput',
      `${approvedRate.toFixed(0)} jobs/s`,
      `${APPROVED_JOBS} approved jobs announced at once; as above plus the grant judged by the log (the policy active at its position) before the claim`,
    ]);

    }
    await dispatcher?.stop();
    dispatcher = null;

    // 3. down while two jobs are approved, then restarted
    if (PHASES.has('restart')) {
    const down1 = await submitTestJob(commands, 'down-notified', 'require_human');
    const down1Approval = await approveTestJob(commands, down1);
    await bus.publish(topics.approved, [{ key: down1.jobId, value: { job_id: down1.jobId, approval_id: down1Approval } }]);
    const down2 = await submitTestJob(commands, 'down-lost', 'require_human');
    await approveTestJob(commands, down2);
    await new Promise((r) => setTimeout(r, GRACE_MS + 200));
    const restartAt = performance.now();
    dispatcher = await startApp('dispatch-service', env);
    const listening = performance.now() - restartAt;
    await until(() => arrived.has('down-notified') && arrived.has('down-lost'), 'both jobs approved while down', 60_000);
    await dispatcher.stop();
    dispatcher = null;
    const notifiedDelay = arrived.get('down-notified')! - restartAt;
    const lostDelay = arrived.get('down-lost')! - restartAt;
    log(`restart -> dispatch: notified ${notifiedDelay.toFixed(0)} ms, lost ${lostDelay.toFixed(0)} ms (listening after ${listening.toFixed(0)} ms)`);
    rows.push([
      'restart -> dispatch of a job approved while down (notification waiting on Kafka)',
      `${(notifiedDelay / 1000).toFixed(2)} s`,
      `${notifiedDelay < 5000 ? 'target < 5 s: met' : 'target < 5 s: NOT met'}; from spawning the process (${(listening / 1000).toFixed(2)} s to /health/live) to the message consumed`,
    ]);
    rows.push([
      'restart -> replay of a job approved while down (notification lost)',
      `${(lostDelay / 1000).toFixed(2)} s`,
      `${lostDelay < 5000 ? 'target < 5 s: met' : 'target < 5 s: NOT met'}; projection rebuilt from position 0, replayed from the event log (grace ${GRACE_MS} ms already past)`,
    ]);

    }

    // 4. replay of stuck jobs by a freshly started dispatcher
    if (PHASES.has('replay')) {
    const stuckIds = Array.from({ length: STUCK_JOBS }, (_, i) => `stuck-${i}`);
    const seedStart = performance.now();
    await seedAllowedJobsInBulk(sql, stuckIds, new Date(Date.now() - 3_600_000).toISOString());
    log(`seeded ${STUCK_JOBS} stuck jobs in ${((performance.now() - seedStart) / 1000).toFixed(1)} s (not measured)`);
    const { rows: logSize } = await sql.query(`SELECT count(*)::int AS n FROM event_store.events`);
    await sql.query('VACUUM ANALYZE event_store.events');
    const stuckArrived = () => {
      let n = 0;
      for (const key of arrived.keys()) if (key.startsWith('stuck-')) n += 1;
      return n;
    };
    const replayStart = performance.now();
    dispatcher = await startApp('dispatch-service', env, 120_000);
    const booted = performance.now() - replayStart;
    // The dispatch messages are counted as the watcher consumes them (no query loads the database
    // meanwhile); then the figure waits for every JobDispatched to be stored.
    await until(() => stuckArrived() === STUCK_JOBS, 'every stuck job published', 600_000, 20);
    await until(async () => (await dispatchedCount('job-stuck-%')) === STUCK_JOBS, 'every stuck job replayed', 120_000, 20);
    const replaySeconds = (performance.now() - replayStart) / 1000;
    const rate = STUCK_JOBS / (replaySeconds - booted / 1000);
    log(`replayed ${STUCK_JOBS} stuck jobs in ${replaySeconds.toFixed(1)} s`);
    rows.push([
      `replay of ${STUCK_JOBS.toLocaleString('en')} stuck jobs (measured)`,
      `${replaySeconds.toFixed(1)} s`,
      `${STUCK_JOBS >= 100_000 ? (replaySeconds < 30 ? 'target 100,000 in < 30 s: met' : 'target 100,000 in < 30 s: NOT met') : 'fewer than 100,000 jobs (BENCH_STUCK_JOBS): no target'}; ` +
        `from spawning the process (${(booted / 1000).toFixed(1)} s to /health/ready, the projection rebuilt) over a log of ${logSize[0].n.toLocaleString('en')} events: ` +
        `${rate.toFixed(0)} jobs/s after ready (DispatchReplayed, claim, publish, JobDispatched; seeding not counted)`,
    ]);
    }
  } finally {
    await dispatcher?.stop().catch(() => undefined);
    await watcher.stop();
    await bus.close();
    await sql.end();
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }

  const cpus = os.cpus();
  process.stdout.write(`${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Node ${process.version}; dispatcher process, PostgreSQL and Kafka on the same machine\n\n`);
  process.stdout.write('| measurement | value | notes |\n| --- | --- | --- |\n');
  for (const [m, v, n] of rows) process.stdout.write(`| ${m} | ${v} | ${n} |\n`);
}

/**
 * The baseline, in its own process like the dispatcher: the least a consume -> produce hop costs on
 * this broker with the dispatcher's consumer concurrency and producer guarantees (idempotent, acks
 * from all in-sync replicas); offsets auto-committed. The parent sends `n` messages to its input
 * topic and counts them on its output topic.
 */
async function rawPipe(brokers: string[], prefix: string, n: number): Promise<number> {
  const kafka = new Kafka({ brokers, clientId: 'bench-raw', logLevel: logLevel.NOTHING });
  const from = `${prefix}raw.in`;
  const to = `${prefix}raw.out`;
  const adminClient = kafka.admin();
  await adminClient.connect();
  await adminClient.createTopics({ waitForLeaders: true, topics: [{ topic: from, numPartitions: 6 }, { topic: to, numPartitions: 6 }] });
  await adminClient.disconnect();
  const child: ChildProcess = spawn(process.execPath, ['-r', path.join(__dirname, '..', '..', 'tools', 'register.cjs'), __filename, '--raw-pipe', from, to], {
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const sink = kafka.consumer({ groupId: `${prefix}raw-sink`, maxWaitTimeInMs: 500 });
  let received = 0;
  try {
    await producer.connect();
    await sink.connect();
    await sink.subscribe({ topics: [to], fromBeginning: true });
    await sink.run({ eachMessage: async () => void (received += 1) });
    const send = async (count: number, tag: string) => {
      for (let i = 0; i < count; i += 500) {
        await producer.send({
          topic: from,
          acks: -1,
          messages: Array.from({ length: Math.min(500, count - i) }, (_, j) => ({
            key: `${tag}-${i + j}`,
            value: JSON.stringify({ job_id: `${tag}-${i + j}`, decision: 'allow' }),
          })),
        });
      }
    };
    await send(10, 'warm');
    await until(() => received >= 10, 'the raw pipe to warm up', 60_000);
    const start = performance.now();
    await send(n, 'raw');
    await until(() => received >= n + 10, 'the raw pipe', 120_000);
    return n / ((performance.now() - start) / 1000);
  } finally {
    child.kill('SIGTERM');
    await Promise.all([sink.disconnect(), producer.disconnect()]);
  }
}

/** The raw pipe's process: consume `from`, produce each message to `to`, until SIGTERM. */
async function runRawPipe(from: string, to: string): Promise<void> {
  const brokers = process.env.BENCH_KAFKA_BROKERS!.split(',');
  const kafka = new Kafka({ brokers, clientId: 'bench-raw-pipe', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const pipe = kafka.consumer({ groupId: `${from}.pipe`, maxWaitTimeInMs: 500 });
  await producer.connect();
  await pipe.connect();
  await pipe.subscribe({ topics: [from], fromBeginning: true });
  await pipe.run({
    partitionsConsumedConcurrently: CONSUMER_CONCURRENCY,
    eachMessage: async ({ message }) => {
      await producer.send({ topic: to, acks: -1, messages: [{ key: message.key, value: message.value }] });
    },
  });
  process.once('SIGTERM', () => {
    void Promise.allSettled([pipe.disconnect(), producer.disconnect()]).then(() => process.exit(0));
  });
}

if (process.argv[2] === '--raw-pipe') {
  runRawPipe(process.argv[3], process.argv[4]).catch((error: unknown) => {
    process.stderr.write(`raw pipe failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`dispatch bench failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
