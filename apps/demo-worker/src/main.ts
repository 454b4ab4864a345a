import 'reflect-metadata';
import http from 'node:http';
import { isMcpToolCall } from '@signoff/contracts';
import { JsonLogger, shutdownTracing, startTracing } from '@signoff/observability';
import { loadOrExit, parseTracingEnv, parseWorkerConfig, serviceEnvironment, WorkerConfig } from '@signoff/runtime';
import { createWorker, DispatchedJob } from '@signoff/worker-sdk';
import { demoWorkerMode, sideEffectTable } from './demo-side-effect';
import { DEMO_WORKER_PATHS } from './worker-http';

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
 * - WORKER_ID (default `<host>:<pid>`), WORKER_GROUP_ID (default `signoff-demo-worker`; under
 *   another KAFKA_TOPIC_PREFIX `<prefix>demo-worker`),
 *   WORKER_LEASE_MS (default 30000), DEMO_WORK_MS (simulated work per job, default 0);
 * - WORKER_MODE (default `transactional`): `transactional` (the row is written in the claim's
 *   transaction), `idempotent` (a downstream table that dedupes by key and fences by token) or
 *   `external` (the row is written on its own: a crash after it leaves the job UNKNOWN);
 * - TEST ONLY `WORKER_FAULT=after-claim|after-effect|before-complete` (optionally
 *   `WORKER_FAULT_JOB=<job id>`): the worker SIGKILLs itself at that point of a run;
 * - PORT (default 8083): `GET /health/live`, `GET /health/ready`, `GET /metrics`.
 */

type DemoFault = NonNullable<WorkerConfig['fault']>['point'];

async function main(): Promise<void> {
  // The one validated parse of the environment (`.signoff/infra.env` under the process env); a bad one exits 78.
  const env = serviceEnvironment();
  const config = loadOrExit('demo-worker', () => parseWorkerConfig(env));
  // OTEL_* (off by default): each dispatch handled continues its job's trace (see the README, Tracing).
  startTracing(loadOrExit('demo-worker', () => parseTracingEnv(env, 'demo-worker')));
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
    // Jobs of MCP tool calls are the MCP gateway's to run (its worker calls the upstream tool).
    accepts: (job) => !isMcpToolCall(job),
    ...(config.fault ? { fault } : {}),
    log: (level, message, fields) => logger.emit(level, message, { worker: config.workerId, ...fields }),
  });
  await worker.start();

  const server = http.createServer((req, res) => {
    if (req.url === DEMO_WORKER_PATHS.live || req.url === DEMO_WORKER_PATHS.ready) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', worker: worker.workerId }));
    } else if (req.url === DEMO_WORKER_PATHS.metrics) {
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
      .then(() => shutdownTracing())
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
