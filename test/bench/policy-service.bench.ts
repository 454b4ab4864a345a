/*
 * `POST /api/v1/jobs` benchmark (issue 4): requests/s and latency of the policy service's submit
 * path (auth, validation, evaluation, an expected-revision append of the job's events to
 * PostgreSQL) under autocannon, against a same-run baseline: a bare POST route on the same
 * framework (Nest 12 on Fastify, same bootstrap, no auth, no store) answering 202 with a body.
 *
 *   node -r ./tools/register.cjs test/bench/policy-service.bench.ts   (BENCH_DATABASE_URL optional)
 *
 * Every request submits a new job (no job_id: the service assigns one), so every request does the
 * full work including the store append. Bounded: 2 x (2 s warm-up + 8 s) + 3 s of raw INSERTs.
 *
 * Besides the rate: the service process's CPU time per request (user + system), the SQL
 * statements its `pg` clients sent per request (by statement; both counted until the relays have
 * relayed what the run appended, so work they defer is not left out), and the raw one-row INSERT rate of
 * the same server with 32 connections (issue 15's target is >= 0.5 of it).
 * BENCH_CPU_PROFILE=<file>: a V8 CPU profile of the service's process during the measured run.
 * When the bench knows the server's data directory (its own server, or run.ts's), it measures
 * the submit path a second time over PostgreSQL's Unix socket (BENCH_PG_SOCKET=0: not).
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { Public } from '@signoff/runtime';
import { PolicyServiceModule } from '@signoff/policy-service';
import { startPostgres } from '../../deploy/local/postgres/postgres';
import { authHeader, startTestApp, testConfig } from '../support/app';
import { autocannon, LoadResult } from './support/http-load';
import { benchPostgresDataDir, CPU_SPLIT_HEADER, cpuSplitRow, startCpuAccounting } from './support/cpu-accounting';
import { countQueries, cpuUsSince, freshDatabase, rawInsertRate, relaysSettled, startCpuProfile } from './support/service-cost';

@Controller('jobs')
class BareController {
  @Post()
  @HttpCode(202)
  @Public()
  submit(@Body() body: { topic?: string }): { status: string; topic?: string } {
    return { status: 'accepted', topic: body.topic };
  }
}
@Module({ controllers: [BareController] })
class BareModule {}


function row(name: string, r: LoadResult, baseline?: LoadResult): string {
  const ratio = baseline ? `${((r.requestsPerSecond / baseline.requestsPerSecond) * 100).toFixed(1)}% of baseline` : 'baseline';
  return `| ${name} | ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.errors} | ${ratio} |`;
}

export async function main(): Promise<void> {
  const own = process.env.BENCH_DATABASE_URL ? null : await startPostgres({ durable: true });
  const baseUrl = process.env.BENCH_DATABASE_URL ?? own!.url;
  try {
    const body = JSON.stringify({ topic: 'knowledge.read', priority: 'normal', labels: { env: 'production' }, payload: { q: 'refund policy', k: 5 } });
    const bare = await startTestApp({ module: BareModule });
    await autocannon({ url: `${bare.url}/api/v1/jobs`, method: 'POST', body, headers: { 'content-type': 'application/json' }, seconds: 2 });
    const bareCpu = startCpuAccounting({ postgresDataDir: null });
    const baseline = await autocannon({ url: `${bare.url}/api/v1/jobs`, method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const bareSplit = bareCpu.stop(baseline.total);
    await bare.close();

    const databaseUrl = await freshDatabase(baseUrl, 'bench');
    const insertRate = await rawInsertRate(databaseUrl, 3000, 32);
    const config = testConfig({ EVENT_STORE_URL: databaseUrl, POLICY_PATH: 'policies/default.yaml' });
    const svc = await startTestApp(PolicyServiceModule.forRoot(config));
    const headers = { 'content-type': 'application/json', ...(await authHeader('bench-agent', ['submitter'])) };
    await autocannon({ url: `${svc.url}/api/v1/jobs`, method: 'POST', body, headers, seconds: 2 });
    const queries = countQueries();
    const profiler = process.env.BENCH_CPU_PROFILE ? await startCpuProfile() : null;
    const cpu = process.cpuUsage();
    queries.start();
    const submitCpu = startCpuAccounting({ postgresDataDir: benchPostgresDataDir(own) });
    const submit = await autocannon({ url: `${svc.url}/api/v1/jobs`, method: 'POST', body, headers });
    const submitSplit = submitCpu.stop(submit.total);
    const cpuPerRequestUs = cpuUsSince(cpu) / submit.total;
    // The relays' share of the run's work: what they had not relayed yet when the load ended.
    const settleMs = await relaysSettled(databaseUrl, queries);
    const statements = queries.stop();
    const cpuSettledPerRequestUs = cpuUsSince(cpu) / submit.total;
    if (profiler) await profiler.stop(process.env.BENCH_CPU_PROFILE!);
    await svc.close();
    // The same service on PostgreSQL's Unix socket (the bench's own server listens on one in its
    // data directory): what a co-located deployment gets; loopback TCP sends run the receiver's
    // TCP path inside the sender's write, which the profile showed as the largest single cost.
    const dataDir = benchPostgresDataDir(own);
    let overSocket: { result: LoadResult; split: ReturnType<ReturnType<typeof startCpuAccounting>['stop']> } | null = null;
    if (dataDir !== null && process.env.BENCH_PG_SOCKET !== '0') {
      const tcp = new URL(await freshDatabase(baseUrl, 'bench_socket'));
      const socketUrl = `postgres://${tcp.username}@${tcp.pathname}?host=${encodeURIComponent(dataDir)}&port=${tcp.port}`;
      const socketSvc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: socketUrl, POLICY_PATH: 'policies/default.yaml' })));
      try {
        await autocannon({ url: `${socketSvc.url}/api/v1/jobs`, method: 'POST', body, headers, seconds: 2 });
        const window = startCpuAccounting({ postgresDataDir: dataDir });
        const result = await autocannon({ url: `${socketSvc.url}/api/v1/jobs`, method: 'POST', body, headers });
        overSocket = { result, split: window.stop(result.total) };
      } finally {
        await socketSvc.close();
      }
    }
    const queryTotal = [...statements.values()].reduce((a, b) => a + b, 0);
    const perStatement = [...statements].sort((a, b) => b[1] - a[1]).map(([sql, n]) => `| ${(n / submit.total).toFixed(3)} | \`${sql}\` |`);

    process.stdout.write(
      [
        '| endpoint (32 connections, 8 s) | requests/s | p50 ms | p99 ms | non-2xx | errors | ratio |',
        '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
        row('bare Nest/Fastify POST route (baseline)', baseline),
        row('POST /api/v1/jobs (auth, validate, evaluate, append to PostgreSQL)', submit, baseline),
        ...(overSocket ? [row("same, PostgreSQL over its Unix socket instead of loopback TCP", overSocket.result, baseline)] : []),
        '',
        'Server and autocannon share the 2 cores; every submit is a new job stored with an expected-revision append.',
        '',
        `raw one-row INSERTs, 32 connections, same server: ${Math.round(insertRate).toLocaleString('en-US')} rows/s; POST /jobs is ${(submit.requestsPerSecond / insertRate).toFixed(2)} of it (target >= 0.5)`,
        `service process CPU per request (user + system): ${cpuPerRequestUs.toFixed(0)} µs over ${submit.total} requests during the load; ${cpuSettledPerRequestUs.toFixed(0)} µs with the relays' catch-up (${(settleMs / 1000).toFixed(1)} s after the load)`,
        `SQL statements per request (load and the relays' catch-up): ${(queryTotal / submit.total).toFixed(3)}`,
        '',
        ...CPU_SPLIT_HEADER,
        cpuSplitRow('bare route (no store)', bareSplit),
        cpuSplitRow('POST /api/v1/jobs (during the load)', submitSplit),
        ...(overSocket ? [cpuSplitRow('same, over the Unix socket', overSocket.split)] : []),
        '',
        'The service runs in the bench process; PostgreSQL is the server of the bench (n/a when it came from DATABASE_URL); the rest is the machine minus both.',
        '',
        '| per request | statement |',
        '| ---: | --- |',
        ...perStatement,
        '',
      ].join('\n'),
    );
  } finally {
    await own?.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
