import 'reflect-metadata';
import path from 'node:path';
import { connectApprovalsGrpc } from '@signoff/approval-service';
import { isMcpToolCall } from '@signoff/contracts';
import { demoWorkerMode, sideEffectTable } from '@signoff/demo-worker';
import { parseEventStoreUrl } from '@signoff/event-store';
import { McpGateway, startMcpGateway } from '@signoff/mcp-gateway';
import { MessageBus } from '@signoff/messaging';
import { SignoffMetrics } from '@signoff/observability';
import { authOptionsFrom, defaultWorkerGroupId, runService, ServiceContext, SignoffConfig } from '@signoff/runtime';
import { createWorker, Worker } from '@signoff/worker-sdk';
import { StandaloneServiceModule } from './app.module';
import { DEV_TOKEN_TTL_SECONDS, devTokens, standaloneSecret, standaloneSigningKeys, standaloneWorkerToken } from './dev-auth';

/** What the standalone prepares from the configuration before its module is built. */
interface Prepared {
  readonly dataDir: string | null;
  readonly auth: ReturnType<typeof standaloneSecret>;
  readonly signing: ReturnType<typeof standaloneSigningKeys>;
}

/** The auth secret and signing keys: configured, or kept in the data directory (generated once). */
function prepare(config: SignoffConfig): Prepared {
  const target = parseEventStoreUrl(config.eventStoreUrl);
  const dataDir = target.kind === 'pglite' && target.location.kind === 'directory' ? path.resolve(target.location.path) : null;
  return {
    dataDir,
    auth: standaloneSecret(dataDir, config.authJwtSecret),
    signing: standaloneSigningKeys(dataDir, config.signingKeyFile, config.signingKeyId),
  };
}

/** The demo worker, in-process, reporting with a worker credential like any other. */
async function startDemoWorker({ app, config, logger }: ServiceContext, { dataDir, auth, signing }: Prepared): Promise<{ worker: Worker; close: () => Promise<void> }> {
  // Minted with the standalone's secret, or SIGNOFF_WORKER_TOKEN when tokens come from an external
  // issuer (the configuration requires it with AUTH_JWKS_URL).
  const workerToken = config.workerToken ?? standaloneWorkerToken(auth.secret, { issuer: config.authJwtIssuer, audience: config.authJwtAudience });
  // Its claims and side effects live in their own PGlite database beside the event store's (PGlite
  // is one database per process and directory).
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
    // Jobs of MCP tool calls (labelled by the gateway) are the MCP gateway's to run, never the demo's.
    accepts: (job) => !isMcpToolCall(job),
    // The demo's side effect is a row in the worker's database: written in the claim's transaction, exactly once.
    ...demoWorkerMode('transactional', effects.db, logger),
    log: (level, message, fields) => logger.emit(level, message, { worker: 'standalone-demo-worker', ...fields }),
  });
  await worker.start();
  return { worker, close: effects.close };
}

/**
 * The MCP approval gateway in-process (SIGNOFF_MCP_GATEWAY): it submits to this process's API with
 * each MCP client's token and runs approved tool calls as a worker on the in-process bus, its
 * claims in their own PGlite database beside the others.
 */
async function startEmbeddedGateway({ app, config, logger, url }: ServiceContext, { dataDir, auth, signing }: Prepared): Promise<McpGateway | null> {
  const gateway = config.mcpGateway;
  if (!gateway) return null;
  const workerToken = config.workerToken ?? standaloneWorkerToken(auth.secret, { issuer: config.authJwtIssuer, audience: config.authJwtAudience, sub: 'standalone-mcp-gateway' });
  return startMcpGateway({
    file: gateway.file,
    signoff: url,
    auth: authOptionsFrom(config, { jwtSecret: auth.secret }),
    host: config.host,
    port: gateway.port,
    holdMs: gateway.holdMs,
    progressMs: gateway.progressMs,
    bus: app.get(MessageBus, { strict: false }),
    topicPrefix: config.kafkaTopicPrefix,
    groupId: defaultWorkerGroupId(config.kafkaTopicPrefix, 'mcp-gateway'),
    workerId: 'standalone-mcp-gateway',
    databaseUrl: dataDir ? `pglite://${path.join(dataDir, 'mcp-gateway')}` : 'pglite://memory',
    grantKeys: signing.keys.publicJwks(),
    workerToken,
    leaseMs: 30_000,
    registry: app.get(SignoffMetrics).registry,
    log: (level, message, fields) => logger.emit(level, message, { component: 'mcp-gateway', ...fields }),
  });
}

/** Prints where everything is and, with the standalone's own secret, ready-to-use development tokens. */
async function printBanner({ config, url }: ServiceContext, { auth, signing }: Prepared, gateway: McpGateway | null): Promise<void> {
  const lines = [
    '',
    `  Signoff is running at ${url}`,
    `    API:     ${url}/api/v1   (OpenAPI: ${url}/docs)`,
    `    health:  ${url}/health/ready`,
    `    metrics: ${url}/metrics`,
    `    gRPC:    ${config.host}:${config.grpcPort} (signoff.v1.Approvals)`,
    ...(gateway ? [`    MCP:     ${gateway.url}/mcp (the MCP approval gateway: ${config.mcpGateway!.file.upstreams.map((u) => u.name).join(', ')}; Authorization: Bearer <submitter token>)`] : []),
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

/**
 * `npm start`: the standalone control plane on embedded defaults, started by runService like every
 * service (embedded: PGlite, in-process transport unless KAFKA_BROKERS is set, no auth secret
 * required). Its extras are hooks: the auth secret and signing keys kept in the data directory,
 * the in-process demo worker, and the development tokens it prints.
 */
async function main(): Promise<void> {
  let prepared: Prepared | null = null;
  let demoWorker: { worker: Worker; close: () => Promise<void> } | null = null;
  let gateway: McpGateway | null = null;
  await runService(
    'standalone',
    (config) => {
      prepared = prepare(config);
      return StandaloneServiceModule.forRoot(config, prepared.auth.secret, prepared.signing.keys);
    },
    {
      embedded: true,
      inProcessWorker: true,
      displayName: 'signoff',
      openApiTitle: 'Signoff (standalone)',
      configure: (app, config) => connectApprovalsGrpc(app, config),
      onStarted: async (context) => {
        demoWorker = await startDemoWorker(context, prepared!);
        gateway = await startEmbeddedGateway(context, prepared!);
      },
      onReady: (context) => printBanner(context, prepared!, gateway),
      onStopping: async () => {
        await gateway?.stop();
        await demoWorker?.worker.stop();
        await demoWorker?.close();
      },
      readyFields: () => ({
        signingKey: prepared!.signing.keys.currentKid,
        ...(prepared!.signing.file ? { signingKeyFile: prepared!.signing.file } : {}),
      }),
    },
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`signoff failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
