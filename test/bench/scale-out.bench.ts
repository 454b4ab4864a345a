/*
 * Scale-out benchmark (issue 15): 1, 2 and 4 instances of the policy and approval services as
 * their own processes on one Kafka broker and one PostgreSQL database.
 *
 *   node -r ./tools/register.cjs test/bench/scale-out.bench.ts   (BENCH_DATABASE_URL and BENCH_KAFKA_BROKERS: npm run bench -- scale-out)
 *
 * For each N: autocannon submits new allowed jobs to all N policy instances at once (32
 * connections split between them, 2 s warm-up, 8 s measured; one autocannon process per
 * instance), then 100 jobs that need an approval are submitted and approved through the N
 * approval instances. Once the relays have drained, the REAL messages on signoff.audit,
 * jobs.evaluated and jobs.approved are counted against the events in the store: the target is each
 * relayed event once (messages = events) at every N. At N = 2 the owner of the policy service's
 * relays is then SIGKILLed: the time until the survivor holds the leases, and the duplicates
 * after it (at least once under failover) are printed. Same-run ratio: submit rate at N / at 1
 * (no target: on 2 shared cores a second instance adds no cores, only coordination).
 * SCALE_OUT_INSTANCES=1,2 picks the rounds; SCALE_OUT_CPU_PROF=<dir> makes every service instance
 * write a CPU profile (`--cpu-prof`) there when it stops.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Client } from 'pg';
import { startPostgres } from '../../deploy/local/postgres/postgres';
import { startKafka } from '../../deploy/local/kafka/kafka';
import { authHeader } from '../support/app';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess } from '../support/processes';
import { ownersOf, POLICY_RELAYS, RELAYED_TOPICS, RelayedMessages, RelayedTopic, startInstances, storedRelayEvents } from '../support/relay-counts';
import { SignoffClient } from '../support/signoff-client';
import { autocannon, LoadResult } from './support/http-load';

const CONNECTIONS = 32;
const SECONDS = 8;
const APPROVED_JOBS = 100;
/** SCALE_OUT_INSTANCES=2 (comma-separated) runs only those rounds; the ratio column then compares with the first. */
const INSTANCES = (process.env.SCALE_OUT_INSTANCES ?? '1,2,4').split(',').map(Number);
/** SCALE_OUT_CPU_PROF=<dir>: the policy and approval instances write `--cpu-prof` profiles there on exit. */
const CPU_PROF_DIR = process.env.SCALE_OUT_CPU_PROF;

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

async function freshDatabase(baseUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bench_scale_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: baseUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  return { url, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** utime + stime of a process so far, in CPU seconds (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<number> {
  const began = Date.now();
  while (!(await check())) {
    if (Date.now() - began > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - began;
}

/** Submits to every instance at once, CONNECTIONS split between them; the summed rate, the worst p99. */
async function submitLoad(policies: readonly ServiceProcess[], seconds: number): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json', ...(await authHeader('bench-agent', ['submitter'])) };
  const body = JSON.stringify({ topic: 'knowledge.read', payload: { bench: true } });
  const each = Math.max(1, Math.round(CONNECTIONS / policies.length));
  const results = await Promise.all(policies.map((p) => autocannon({ url: `${p.url}/api/v1/jobs`, method: 'POST', body, headers, connections: each, seconds })));
  return {
    requestsPerSecond: results.reduce((n, r) => n + r.requestsPerSecond, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    total: results.reduce((n, r) => n + r.total, 0),
  };
}

async function approveJobs(policies: readonly ServiceProcess[], approvals: readonly ServiceProcess[], round: string): Promise<void> {
  const submitters = await Promise.all(policies.map((p) => SignoffClient.as(p.url, 'bench-agent', ['submitter'])));
  const reviewers = await Promise.all(approvals.map((p) => SignoffClient.as(p.url, 'bench-reviewer', ['reviewer'])));
  for (let start = 0; start < APPROVED_JOBS; start += 20) {
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const i = start + k;
        const id = `${round}-pay-${i}`;
        const res = await submitters[i % submitters.length]!.submit({ job_id: id, topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { i } });
        if (res.status !== 202) throw new Error(`submit ${id}: ${res.status}`);
        await until(async () => (await reviewers[i % reviewers.length]!.approve(id, { reason: 'bench' })).status === 200, `${id} to be approved`, 30_000);
      }),
    );
  }
}

/** Waits until every stored event of every relayed topic is on it (distinct), then for stragglers. */
async function drained(messages: RelayedMessages, databaseUrl: string): Promise<{ stored: Record<RelayedTopic, number>; drainMs: number }> {
  const drainMs = await until(
    async () => {
      const stored = await storedRelayEvents(databaseUrl);
      const seen = messages.snapshot();
      return RELAYED_TOPICS.every((t) => seen[t].events >= stored[t]);
    },
    'the relays to drain',
    300_000,
  );
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  return { stored: await storedRelayEvents(databaseUrl), drainMs };
}

interface Round {
  readonly n: number;
  readonly load: LoadResult;
  readonly counts: Record<RelayedTopic, { messages: number; events: number; stored: number }>;
  readonly drainMs: number;
  readonly cpu: { policy: number[]; approval: number[] };
  readonly failover?: { takeoverMs: number; duplicates: Record<RelayedTopic, number>; lost: number };
}

async function round(n: number, baseUrl: string, brokers: string[]): Promise<Round> {
  const db = await freshDatabase(baseUrl);
  const prefix = `benchso${randomBytes(3).toString('hex')}.`;
  const env = {
    KAFKA_BROKERS: brokers.join(','),
    EVENT_STORE_URL: db.url,
    KAFKA_TOPIC_PREFIX: prefix,
    ...(await testTrustEnv()),
    POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
    GRPC_PORT: '0',
    LOG_LEVEL: 'error',
    ...(CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {}),
  };
  const messages = new RelayedMessages(brokers, prefix);
  const procs: ServiceProcess[] = [];
  try {
    log(`N=${n}: starting ${n} policy and ${n} approval instances`);
    const [policies, approvals] = await Promise.all([startInstances('policy-service', n, env), startInstances('approval-service', n, env)]);
    procs.push(...policies, ...approvals);
    await messages.start();
    await submitLoad(policies, 2);
    const cpuBefore = procs.map((p) => cpuSeconds(p.child.pid));
    const load = await submitLoad(policies, SECONDS);
    await approveJobs(policies, approvals, `r${n}`);
    const { stored, drainMs } = await drained(messages, db.url);
    const cpu = procs.map((p, i) => cpuSeconds(p.child.pid) - cpuBefore[i]!);
    const seen = messages.snapshot();
    const counts = Object.fromEntries(RELAYED_TOPICS.map((t) => [t, { ...seen[t], stored: stored[t] }])) as Round['counts'];
    log(`N=${n}: ${Math.round(load.requestsPerSecond)} req/s; ${RELAYED_TOPICS.map((t) => `${t} ${seen[t].messages}/${stored[t]}`).join(', ')}`);
    let failover: Round['failover'];
    // A SIGKILLed process writes no CPU profile: profiling runs skip the failover.
    if (n === 2 && !CPU_PROF_DIR) {
      const [owner] = await ownersOf(policies, POLICY_RELAYS[0]);
      if (owner !== undefined) {
        await policies[owner]!.stop('SIGKILL');
        const survivors = policies.filter((_, i) => i !== owner);
        const takeoverMs = await until(
          async () => {
            for (const relay of POLICY_RELAYS) if ((await ownersOf(survivors, relay)).length !== 1) return false;
            return true;
          },
          'the survivor to take the leases',
          60_000,
        );
        await submitLoad(survivors, 2);
        const after = await drained(messages, db.url);
        const now = messages.snapshot();
        failover = {
          takeoverMs,
          duplicates: Object.fromEntries(RELAYED_TOPICS.map((t) => [t, now[t].messages - after.stored[t]])) as Record<RelayedTopic, number>,
          lost: RELAYED_TOPICS.reduce((k, t) => k + Math.max(0, after.stored[t] - now[t].events), 0),
        };
      }
    }
    return { n, load, counts, drainMs, cpu: { policy: cpu.slice(0, n), approval: cpu.slice(n) }, ...(failover ? { failover } : {}) };
  } finally {
    await messages.stop().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop().catch(() => undefined);
  }
}

export async function main(): Promise<void> {
  const ownPg = process.env.BENCH_DATABASE_URL ? null : await startPostgres({ durable: true });
  const ownKafka = process.env.BENCH_KAFKA_BROKERS ? null : await startKafka({ log });
  const baseUrl = process.env.BENCH_DATABASE_URL ?? ownPg!.url;
  const brokers = process.env.BENCH_KAFKA_BROKERS?.split(',') ?? ownKafka!.brokers;
  try {
    const rounds: Round[] = [];
    for (const n of INSTANCES) rounds.push(await round(n, baseUrl, brokers));
    const one = rounds[0]!;
    const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
    const cell = (c: { messages: number; stored: number }) => `${fmt(c.messages)} / ${fmt(c.stored)}`;
    const once = (r: Round) => RELAYED_TOPICS.every((t) => r.counts[t].messages === r.counts[t].stored && r.counts[t].events === r.counts[t].stored);
    process.stdout.write(
      [
        `Each N: ${CONNECTIONS} connections split over the N policy instances, ${SECONDS} s of POST /jobs (new allowed jobs), then ${APPROVED_JOBS} approved jobs; messages on the topic / events in the store after the relays drained (target: equal, each event once).`,
        '',
        '| instances of each service | submit requests/s | p50 ms | p99 ms | non-2xx | ratio to 1 instance | signoff.audit | jobs.evaluated | jobs.approved | each relayed event once | relay drain after load | CPU s policy / approval instances |',
        '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
        ...rounds.map(
          (r) =>
            `| ${r.n} | ${fmt(r.load.requestsPerSecond)} | ${r.load.p50Ms} | ${r.load.p99Ms} | ${r.load.non2xx} | ${(r.load.requestsPerSecond / one.load.requestsPerSecond).toFixed(2)} | ${cell(r.counts.audit)} | ${cell(r.counts['jobs.evaluated'])} | ${cell(r.counts['jobs.approved'])} | ${once(r) ? 'met' : 'NOT met'} | ${(r.drainMs / 1000).toFixed(1)} s | ${r.cpu.policy.map((c) => c.toFixed(1)).join(' + ')} / ${r.cpu.approval.map((c) => c.toFixed(1)).join(' + ')} |`,
        ),
        '',
        ...rounds
          .filter((r) => r.failover)
          .map(
            (r) =>
              `Failover at N = ${r.n} (SIGKILL of the policy instance holding the relays' leases, SUBSCRIPTION_LEASE_MS 5000): the survivor held every lease after ${(r.failover!.takeoverMs / 1000).toFixed(1)} s (target: within a few seconds: ${r.failover!.takeoverMs <= 10_000 ? 'met' : 'NOT met'}); events lost ${r.failover!.lost} (target 0: ${r.failover!.lost === 0 ? 'met' : 'NOT met'}); messages published twice around the failover: ${RELAYED_TOPICS.map((t) => `${t} ${r.failover!.duplicates[t]}`).join(', ')} (at least once).`,
          ),
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.allSettled([ownKafka?.stop(), ownPg?.stop()]);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`scale-out bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
