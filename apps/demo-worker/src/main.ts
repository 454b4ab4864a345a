import 'reflect-metadata';
import http from 'node:http';
import { hostname } from 'node:os';
import { keySetSourceProblem } from '@signoff/keys';
import { JsonLogger, LogLevel } from '@signoff/observability';
import { readEnvFile } from '@signoff/runtime';
import { createWorker, DispatchedJob, WorkerFaultPoint } from '@signoff/worker-sdk';
import { DEMO_MODES, DemoMode, demoWorkerMode, sideEffectTable } from './demo-side-effect';
import path from 'node:path';

/**
 * The demo worker (`npm run start:worker`), built on @signoff/worker-sdk. Its side effect is a row
 * in `demo_worker_side_effects` (no unique key: a side effect that ran twice would show as two
 * rows) and a JSON log line naming the idempotency key. Environment:
 * - KAFKA_BROKERS (required), KAFKA_TOPIC_PREFIX (default `signoff.`);
 * - WORKER_DATABASE_URL, else EVENT_STORE_URL: where claims and side effects are kept
 *   (`postgres://…`; `pglite://<dir>` for a single worker);
 * - SIGNOFF_GRANT_JWKS (required): the control plane's public keys, a JWK Set file or an https
 *   URL (the dispatch service's `/.well-known/jwks.json`); every dispatch's grant must verify;
 * - SIGNOFF_WORKER_TOKEN (required): this worker's credential (a JWT with the role `worker`),
 *   sent with every report;
 * - WORKER_ID (default `<host>:<pid>`), WORKER_GROUP_ID (default `signoff-demo-worker`),
 *   WORKER_LEASE_MS (default 30000), DEMO_WORK_MS (simulated work per job, default 0);
 * - WORKER_MODE (default `transactional`): `transactional` (the row is written in the claim's
 *   transaction), `idempotent` (a downstream table that dedupes by key and fences by token) or
 *   `external` (the row is written on its own: a crash after it leaves the job UNKNOWN);
 * - TEST ONLY `WORKER_FAULT=after-claim|after-effect|before-complete` (optionally
 *   `WORKER_FAULT_JOB=<job id>`): the worker SIGKILLs itself at that point of a run;
 * - PORT (default 8083): `GET /health/live`, `GET /health/ready`, `GET /metrics`.
 */

type DemoFault = WorkerFaultPoint | 'after-effect';
const DEMO_FAULTS: readonly DemoFault[] = ['after-claim', 'after-effect', 'before-complete'];
interface DemoConfig {
  readonly brokers: string[];
  readonly topicPrefix: string;
  readonly databaseUrl: string;
  readonly workerId: string;
  readonly groupId: string;
  readonly leaseMs: number;
  readonly workMs: number;
  readonly mode: DemoMode;
  readonly fault: { readonly point: DemoFault; readonly jobId: string | null } | null;
  readonly port: number;
  readonly host: string;
  readonly logLevel: LogLevel;
  readonly grantJwks: string;
  readonly workerToken: string;
}

function readConfig(env: Record<string, string | undefined>): DemoConfig {
  const problems: string[] = [];
  const brokers = (env.KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required (host:port[,host:port…])');
  for (const b of brokers) if (!/^[^\s:/]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entry "${b}" must be host:port`);
  const databaseUrl = env.WORKER_DATABASE_URL?.trim() || env.EVENT_STORE_URL?.trim() || '';
  if (!/^(postgres|postgresql|pglite):\/\/./.test(databaseUrl)) problems.push('WORKER_DATABASE_URL (or EVENT_STORE_URL) must be postgres://… or pglite://<dir>');
  const int = (name: string, fallback: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max) {
      problems.push(`${name}=${raw} must be an integer from 0 to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const grantJwks = env.SIGNOFF_GRANT_JWKS?.trim() ?? '';
  if (grantJwks === '') problems.push('SIGNOFF_GRANT_JWKS is required (the control plane\'s public JWK Set: a file or an https URL such as <dispatch>/.well-known/jwks.json)');
  else {
    const problem = keySetSourceProblem(grantJwks);
    if (problem) problems.push(`SIGNOFF_GRANT_JWKS ${problem}`);
  }
  const workerToken = env.SIGNOFF_WORKER_TOKEN?.trim() ?? '';
  if (workerToken === '') problems.push('SIGNOFF_WORKER_TOKEN is required (a JWT with the role worker: `npm run cli -- token --sub NAME --roles worker`)');
  const leaseMs = int('WORKER_LEASE_MS', 30_000, 3_600_000);
  if (leaseMs < 100) problems.push('WORKER_LEASE_MS must be at least 100');
  const mode = (env.WORKER_MODE?.trim() || 'transactional') as DemoMode;
  if (!DEMO_MODES.includes(mode)) problems.push(`WORKER_MODE=${mode} must be one of ${DEMO_MODES.join(', ')}`);
  const faultPoint = env.WORKER_FAULT?.trim() as DemoFault | undefined;
  if (faultPoint && !DEMO_FAULTS.includes(faultPoint)) problems.push(`WORKER_FAULT=${faultPoint} must be one of ${DEMO_FAULTS.join(', ')} (test only)`);
  const config: DemoConfig = {
    brokers,
    topicPrefix: env.KAFKA_TOPIC_PREFIX ?? 'signoff.',
    databaseUrl,
    workerId: env.WORKER_ID?.trim() || `${hostname()}:${process.pid}`,
    groupId: env.WORKER_GROUP_ID?.trim() || 'signoff-demo-worker',
    leaseMs,
    workMs: int('DEMO_WORK_MS', 0, 600_000),
    mode,
    fault: faultPoint ? { point: faultPoint, jobId: env.WORKER_FAULT_JOB?.trim() || null } : null,
    port: int('PORT', 8083, 65535),
    host: env.HOST?.trim() || '127.0.0.1',
    logLevel: (['debug', 'info', 'warn', 'error'].includes(env.LOG_LEVEL ?? '') ? env.LOG_LEVEL : 'info') as LogLevel,
    grantJwks,
    workerToken,
  };
  if (problems.length > 0) {
    process.stderr.write(`demo-worker: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
    process.exit(78);
  }
  return config;
}

async function main(): Promise<void> {
  const env = { ...readEnvFile(path.join(process.cwd(), '.signoff', 'infra.env')), ...process.env };
  const config = readConfig(env);
  const logger = new JsonLogger('demo-worker', config.logLevel);
  const effects = await sideEffectTable(config.databaseUrl);

  // TEST ONLY (WORKER_FAULT): die at a point of a run as a crash would, with no shutdown hook running.
  const fault = (point: DemoFault, job: DispatchedJob) => {
    if (!config.fault || config.fault.point !== point || (config.fault.jobId !== null && config.fault.jobId !== job.job_id)) return;
    process.stderr.write(`WORKER_FAULT=${point}: killing worker ${process.pid} while running job ${job.job_id}\n`);
    process.kill(process.pid, 'SIGKILL');
  };

  const worker = await createWorker({
    brokers: config.brokers,
    topicPrefix: config.topicPrefix,
    groupId: config.groupId,
    databaseUrl: config.databaseUrl.startsWith('pglite://') ? undefined : config.databaseUrl,
    // PGlite is one process's database: claims and side effects share the one instance.
    db: config.databaseUrl.startsWith('pglite://') ? effects.db : undefined,
    workerId: config.workerId,
    leaseMs: config.leaseMs,
    grantKeys: config.grantJwks,
    workerToken: config.workerToken,
    ...demoWorkerMode(config.mode, effects.db, logger, { workMs: config.workMs, afterEffect: (job) => fault('after-effect', job) }),
    ...(config.fault ? { fault } : {}),
    log: (level, message, fields) => logger.emit(level, message, { worker: config.workerId, ...fields }),
  });
  await worker.start();

  const server = http.createServer((req, res) => {
    if (req.url === '/health/live' || req.url === '/health/ready') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', worker: worker.workerId }));
    } else if (req.url === '/metrics') {
      worker.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': worker.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 404 }));
    }
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const address = server.address();
  logger.emit('info', 'demo-worker listening', {
    url: `http://${config.host}:${typeof address === 'object' && address ? address.port : config.port}`,
    worker: worker.workerId,
    mode: config.mode,
    kafka: config.brokers.join(','),
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.emit('info', `${signal} received: stopping`);
    server.close();
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    worker
      .stop()
      .then(() => effects.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.emit('error', 'stop failed', { error: (error as Error).message });
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`demo-worker failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
