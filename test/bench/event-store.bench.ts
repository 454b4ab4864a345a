/**
 * Event store benchmark (PostgreSQL adapter): append, read and subscription throughput, each next
 * to a baseline measured in the same run on the same database, so the ratios say what the store
 * costs over plain SQL on this machine.
 *
 *   node -r ./tools/register.cjs test/bench/event-store.bench.ts
 *
 * BENCH_DATABASE_URL: a PostgreSQL server to use (a fresh database is created on it and dropped
 * afterwards); unset, a throwaway server is started with deploy/local/postgres and stopped.
 * BENCH_DURATION_MS (default 4000): length of each timed append run. BENCH_LOG_EVENTS (default
 * 100000): size of the log the read measurements scan (each read figure is the median of three
 * runs). About 30 s on 2 cores; bounded to well under two minutes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import os from 'node:os';
import { Client, Pool } from 'pg';
import { createEventStore, type EventStore, type NewEvent } from '@signoff/event-store';
import { startPostgres, type PostgresHandle } from '../../deploy/local/postgres/postgres';

/** One line of the result table. */
export interface BenchResult {
  readonly measurement: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: string;
  readonly baselineValue: number;
  readonly baselineUnit: string;
}

export interface BenchReport {
  readonly results: readonly BenchResult[];
  readonly environment: string;
  readonly markdown: string;
  /** Reading the whole log reached the 50,000 events/s target. */
  readonly readTargetMet: boolean;
}

const READ_TARGET_EVENTS_PER_S = 50_000;
const CONCURRENCY = 16;
const STREAMS_PER_WRITER = 8;
const READ_RUNS = 3;

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function eventFor(i: number): NewEvent {
  return {
    id: randomUUID(),
    type: 'JobSubmitted',
    data: {
      job_id: `job-${i}`,
      request: { topic: 'finance.payment.execute', priority: 'normal', tenant: 'acme', labels: { env: 'production' }, payload: { amount: i, note: 'x'.repeat(64) } },
      job_hash: `sha256:${'0'.repeat(64)}`,
    },
    metadata: { correlationId: `c-${i}`, causationId: `c-${i}`, actor: 'bench', at: '2025-01-01T00:00:00.000Z' },
  };
}

/** Runs `work` on `workers` loops until `durationMs` has passed; returns completed operations per second. */
async function timed(durationMs: number, workers: number, work: (worker: number, i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const deadline = started + durationMs;
  let done = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        await work(worker, i);
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** Median of `runs` measurements: the machine is shared, single runs of a few seconds are noisy. */
async function median(runs: number, measure: (run: number) => Promise<number>): Promise<number> {
  const values: number[] = [];
  for (let run = 0; run < runs; run += 1) values.push(await measure(run));
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)]!;
}

function format(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function ratio(value: number, baseline: number): string {
  return baseline > 0 ? `${(value / baseline).toFixed(2)}` : 'n/a';
}

function toMarkdown(results: readonly BenchResult[], environment: string, readTargetMet: boolean): string {
  const lines = [
    `Environment: ${environment}`,
    '',
    '| Measurement | Event store | Same-run baseline | Baseline | Ratio |',
    '|---|---:|---|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.measurement} | ${format(r.value)} ${r.unit} | ${r.baseline} | ${format(r.baselineValue)} ${r.baselineUnit} | ${ratio(r.value, r.baselineValue)} |`,
    ),
    '',
    `Target: reading the whole log >= ${format(READ_TARGET_EVENTS_PER_S)} events/s: ${readTargetMet ? 'met' : 'NOT met'}.`,
  ];
  return lines.join('\n');
}

/** Runs the benchmark and prints the Markdown table; resolves with the figures. */
export async function main(): Promise<BenchReport> {
  const durationMs = Number(process.env.BENCH_DURATION_MS ?? 4_000);
  const logEvents = Number(process.env.BENCH_LOG_EVENTS ?? 100_000);
  let server: PostgresHandle | null = null;
  const serverUrl = process.env.BENCH_DATABASE_URL ?? (server = await startPostgres({ log, durable: true })).url;
  const dbName = `bench_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const dbUrl = url.toString();

  let store: EventStore | null = null;
  const pool = new Pool({ connectionString: dbUrl, max: CONCURRENCY });
  // Dropping the database at the end terminates idle connections; that must not crash the run.
  pool.on('error', () => undefined);
  try {
    store = await createEventStore(dbUrl, { postgres: { maxConnections: CONCURRENCY } });
    const version = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    const environment = `PostgreSQL ${version}, Node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}`;
    log(environment);
    const results: BenchResult[] = [];

    // Baselines: one plain INSERT per transaction (autocommit) of the same JSON payload.
    await pool.query(`CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, stream_id text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL)`);
    const insertBaseline = (i: number) => {
      const e = eventFor(i);
      return pool.query(`INSERT INTO bench_baseline (stream_id, data, metadata) VALUES ($1, $2, $3)`, [
        `baseline-${i % 100}`,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
      ]);
    };
    log('baseline: plain INSERT transactions, 1 connection');
    const insertSequential = await timed(durationMs, 1, async (_w, i) => {
      await insertBaseline(i);
    });
    log('baseline: plain INSERT transactions, 16 connections');
    const insertConcurrent = await timed(durationMs, CONCURRENCY, async (w, i) => {
      await insertBaseline(w * 1_000_000 + i);
    });

    log('append: one stream, sequential');
    const s = store;
    let revision: bigint | 'no_stream' = 'no_stream';
    const oneStream = await timed(durationMs, 1, async (_w, i) => {
      revision = (await s.appendToStream('bench-one', [eventFor(i)], { expectedRevision: revision })).nextRevision;
    });
    results.push({
      measurement: 'appendToStream, 1 stream, sequential (1 event, exact revision)',
      value: oneStream,
      unit: 'appends/s',
      baseline: 'plain INSERT transactions, 1 connection',
      baselineValue: insertSequential,
      baselineUnit: 'tx/s',
    });

    log(`append: ${CONCURRENCY} writers on ${CONCURRENCY * STREAMS_PER_WRITER} streams`);
    const heads = new Map<string, bigint>();
    const manyStreams = await timed(durationMs, CONCURRENCY, async (w, i) => {
      const stream = `bench-many-${w}-${i % STREAMS_PER_WRITER}`;
      const head = heads.get(stream);
      const result = await s.appendToStream(stream, [eventFor(i)], { expectedRevision: head ?? 'no_stream' });
      heads.set(stream, result.nextRevision);
    });
    results.push({
      measurement: `appendToStream, ${CONCURRENCY} concurrent writers, ${CONCURRENCY * STREAMS_PER_WRITER} streams (1 event, exact revision)`,
      value: manyStreams,
      unit: 'appends/s',
      baseline: `plain INSERT transactions, ${CONCURRENCY} connections`,
      baselineValue: insertConcurrent,
      baselineUnit: 'tx/s',
    });

    // Fill the log (and the baseline table) to the size the read measurements scan.
    const present = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM event_store.events')).rows[0]!.n);
    const missing = Math.max(0, logEvents - present);
    const batch = 100;
    log(`loading ${format(missing)} events in batches of ${batch}`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const start = next;
          next += batch;
          if (start >= missing) return;
          const count = Math.min(batch, missing - start);
          await s.appendToStream(`bench-load-${start}`, Array.from({ length: count }, (_, k) => eventFor(start + k)), {
            expectedRevision: 'no_stream',
          });
        }
      }),
    );
    const total = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM event_store.events')).rows[0]!.n);
    const sample = eventFor(0);
    await pool.query(
      `INSERT INTO bench_baseline (stream_id, data, metadata)
       SELECT 'baseline-' || (g % 100), $1::jsonb, $2::jsonb FROM generate_series(1, GREATEST(0, $3 - (SELECT count(*) FROM bench_baseline))) g`,
      [JSON.stringify(sample.data), JSON.stringify(sample.metadata), total],
    );
    await pool.query('VACUUM ANALYZE bench_baseline');
    await pool.query('VACUUM ANALYZE event_store.events');

    log(`baseline: plain SELECT of ${format(total)} rows in keyset pages of 5,000 (median of ${READ_RUNS})`);
    let rows = 0;
    const selectRate = await median(READ_RUNS, async () => {
      const started = performance.now();
      rows = 0;
      for (let after = 0; ; ) {
        const page = await pool.query<{ id: string }>(
          `SELECT id, stream_id, data, metadata FROM bench_baseline WHERE id > $1 ORDER BY id LIMIT 5000`,
          [after],
        );
        rows += page.rows.length;
        if (page.rows.length < 5000) break;
        after = Number(page.rows[page.rows.length - 1]!.id);
      }
      return rows / ((performance.now() - started) / 1000);
    });

    log(`readAll from position 0 over ${format(total)} events (median of ${READ_RUNS})`);
    const readRate = await median(READ_RUNS, async () => {
      const started = performance.now();
      const all = await s.readAll({ fromPosition: 0n });
      const rate = all.length / ((performance.now() - started) / 1000);
      if (all.length !== total) throw new Error(`readAll returned ${all.length} events, the log holds ${total}`);
      return rate;
    });
    results.push(
      {
        measurement: `readAll from position 0 (${format(total)} events)`,
        value: readRate,
        unit: 'events/s',
        baseline: 'plain INSERT transactions, 1 connection',
        baselineValue: insertSequential,
        baselineUnit: 'tx/s',
      },
      {
        measurement: `readAll from position 0 (${format(total)} events)`,
        value: readRate,
        unit: 'events/s',
        baseline: `plain SELECT, keyset pages of 5,000 (${format(rows)} rows)`,
        baselineValue: selectRate,
        baselineUnit: 'rows/s',
      },
    );

    log(`subscription catch-up from the start (median of ${READ_RUNS})`);
    const catchUpRate = await median(READ_RUNS, async (run) => {
      const started = performance.now();
      let handled = 0;
      let caughtUp!: () => void;
      const done = new Promise<void>((resolve) => (caughtUp = resolve));
      const subscription = s.subscribe(`bench-catch-up-${run}`, {
        handler: () => {
          handled += 1;
          if (handled === total) caughtUp();
        },
      });
      await done;
      const rate = total / ((performance.now() - started) / 1000);
      await subscription.stop();
      return rate;
    });
    results.push(
      {
        measurement: `subscription catch-up from 0 (${format(total)} events, batches of 500, checkpoint per batch)`,
        value: catchUpRate,
        unit: 'events/s',
        baseline: 'plain INSERT transactions, 1 connection',
        baselineValue: insertSequential,
        baselineUnit: 'tx/s',
      },
      {
        measurement: `subscription catch-up from 0 (${format(total)} events)`,
        value: catchUpRate,
        unit: 'events/s',
        baseline: `plain SELECT, keyset pages of 5,000 (${format(rows)} rows)`,
        baselineValue: selectRate,
        baselineUnit: 'rows/s',
      },
    );

    const readTargetMet = readRate >= READ_TARGET_EVENTS_PER_S;
    const markdown = toMarkdown(results, environment, readTargetMet);
    process.stdout.write(`\n### PostgreSQL adapter\n\n${markdown}\n`);
    return { results, environment, markdown, readTargetMet };
  } finally {
    await store?.close();
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await server?.stop();
  }
}

if (require.main === module) {
  main().then(
    (report) => {
      process.exitCode = report.readTargetMet ? 0 : 1;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
