import 'reflect-metadata';
import path from 'node:path';
import { parseEventStoreUrl } from '@signoff/event-store';
import { HealthRegistry, JsonLogger, SignoffMetrics } from '@signoff/observability';
import { connectMessageBus, createHttpApp, installGracefulShutdown, listen, loadConfigOrExit, redactUrl, setupOpenApi } from '@signoff/runtime';
import { connectApprovalsGrpc } from '../../approval-service/src/grpc/grpc.options';
import { MessageBus } from '@signoff/messaging';
import { createWorker } from '@signoff/worker-sdk';
import { demoWorkerMode, sideEffectTable } from '../../demo-worker/src/demo-side-effect';
import { StandaloneModule } from './app.module';
import { DEV_TOKEN_TTL_SECONDS, devTokens, standaloneSecret, standaloneSigningKeys, standaloneWorkerToken } from './dev-auth';

/** `npm start`: the standalone control plane on embedded defaults. */
async function main(): Promise<void> {
  const config = loadConfigOrExit('signoff', process.env, { eventStoreUrl: 'pglite://./.signoff/data' });
  const target = parseEventStoreUrl(config.eventStoreUrl);
  const dataDir = target.kind === 'pglite' && target.location.kind === 'directory' ? path.resolve(target.location.path) : null;
  const auth = standaloneSecret(dataDir, config.authJwtSecret);
  const signing = standaloneSigningKeys(dataDir, config.signingKeyFile, config.signingKeyId);
  const logger = new JsonLogger('standalone', config.logLevel);
  // The in-process worker reports with a worker credential like any other: minted with the
  // standalone's secret, or SIGNOFF_WORKER_TOKEN when tokens come from an external issuer.
  if (config.authJwksUrl && !config.workerToken) {
    process.stderr.write('signoff: with AUTH_JWKS_URL, set SIGNOFF_WORKER_TOKEN (a JWT with the role worker) for the in-process worker\n');
    process.exit(78);
  }
  const workerToken = config.workerToken ?? standaloneWorkerToken(auth.secret, { issuer: config.authJwtIssuer, audience: config.authJwtAudience });
  const app = await createHttpApp(StandaloneModule.forRoot(config, auth.secret, signing.keys), { service: 'standalone', logger });
  const health = app.get(HealthRegistry);
  await connectMessageBus(app, config, 'signoff-standalone');
  connectApprovalsGrpc(app, config);
  setupOpenApi(app, 'Signoff (standalone)');
  // The demo worker, in-process: its claims and side effects live in their own PGlite database
  // beside the event store's (PGlite is one database per process and directory).
  const workerDb = dataDir ? `pglite://${path.join(dataDir, 'worker')}` : 'pglite://memory';
  const effects = await sideEffectTable(workerDb);
  const worker = await createWorker({
    bus: app.get(MessageBus, { strict: false }),
    topicPrefix: config.kafkaTopicPrefix,
    db: effects.db,
    workerId: 'standalone-demo-worker',
    // Dispatch grants are verified in-process too, against the public half of the standalone's key.
    grantKeys: signing.keys.publicJwks(),
    workerToken,
    registry: app.get(SignoffMetrics).registry,
    // The demo's side effect is a row in the worker's database: written in the claim's transaction, exactly once.
    ...demoWorkerMode('transactional', effects.db, logger),
    log: (level, message, fields) => logger.emit(level, message, { worker: 'standalone-demo-worker', ...fields }),
  });
  installGracefulShutdown(app, logger, async () => {
    health.markShuttingDown();
    await worker.stop();
    await effects.close();
  });
  await app.startAllMicroservices();
  await worker.start();
  const url = await listen(app, config.port, config.host);
  logger.emit('info', 'signoff standalone listening', {
    url,
    eventStore: redactUrl(config.eventStoreUrl),
    transport: config.kafkaBrokers.length > 0 ? `kafka ${config.kafkaBrokers.join(',')}` : 'in-process',
    signingKey: signing.keys.currentKid,
    ...(signing.file ? { signingKeyFile: signing.file } : {}),
  });
  const lines = [
    '',
    `  Signoff is running at ${url}`,
    `    API:     ${url}/api/v1   (OpenAPI: ${url}/docs)`,
    `    health:  ${url}/health/ready`,
    `    metrics: ${url}/metrics`,
    `    gRPC:    ${config.host}:${config.grpcPort} (signoff.v1.Approvals)`,
    `    keys:    ${url}/.well-known/jwks.json (dispatch grants signed with key ${signing.keys.currentKid}${signing.file ? `, kept in ${path.relative(process.cwd(), signing.file)}` : ''})`,
  ];
  if (!config.authJwksUrl) {
    const tokens = await devTokens(auth.secret, { maxTtlSeconds: config.authJwtMaxTtlSeconds, issuer: config.authJwtIssuer, audience: config.authJwtAudience });
    const ttl = Math.min(DEV_TOKEN_TTL_SECONDS, config.authJwtMaxTtlSeconds);
    lines.push(
      '',
      `  Development tokens (${ttl % 3600 === 0 ? `${ttl / 3600} h` : `${Math.floor(ttl / 60)} min`}; secret ${auth.file ? `kept in ${path.relative(process.cwd(), auth.file)}` : 'from AUTH_JWT_SECRET'}):`,
      ...Object.entries(tokens).map(([role, token]) => `    export SIGNOFF_${role.toUpperCase()}_TOKEN=${token}`),
      '',
      '  Try it:',
      `    curl -s -X POST ${url}/api/v1/jobs -H "Authorization: Bearer $SIGNOFF_SUBMITTER_TOKEN" \\`,
      `      -H "Content-Type: application/json" -d '{"topic":"knowledge.read"}'`,
    );
  }
  lines.push('', '  Stop it with Ctrl-C.', '');
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`signoff failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
