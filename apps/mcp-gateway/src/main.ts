import 'reflect-metadata';
import { JsonLogger } from '@signoff/observability';
import { loadOrExit, parseMcpGatewayConfig, serviceEnvironment } from '@signoff/runtime';
import { startMcpGateway } from './mcp-gateway';

/**
 * The MCP approval gateway as its own process (`npm run start:mcp-gateway`). Environment (also
 * `.signoff/infra.env`): SIGNOFF_MCP_GATEWAY (the gateway file), SIGNOFF_URL, AUTH_JWT_SECRET or
 * AUTH_JWKS_URL (+ AUTH_JWT_*), KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, WORKER_DATABASE_URL (claims,
 * shared by the instances), SIGNOFF_GRANT_JWKS, SIGNOFF_WORKER_TOKEN, WORKER_ID, WORKER_GROUP_ID,
 * WORKER_LEASE_MS, PORT (8090), HOST, MCP_GATEWAY_HOLD_MS, MCP_GATEWAY_PROGRESS_MS, LOG_LEVEL.
 */
async function main(): Promise<void> {
  const config = loadOrExit('mcp-gateway', () => parseMcpGatewayConfig(serviceEnvironment()));
  const logger = new JsonLogger('mcp-gateway', config.logLevel);
  const gateway = await startMcpGateway({
    file: config.file,
    signoff: config.signoffUrl,
    auth: config.auth,
    host: config.host,
    port: config.port,
    holdMs: config.holdMs,
    progressMs: config.progressMs,
    brokers: config.brokers,
    topicPrefix: config.topicPrefix,
    groupId: config.groupId,
    workerId: config.workerId,
    databaseUrl: config.databaseUrl,
    grantKeys: config.grantJwks,
    workerToken: config.workerToken,
    leaseMs: config.leaseMs,
    log: (level, message, fields) => logger.emit(level, message, fields),
  });
  logger.emit('info', 'mcp-gateway listening', { url: `${gateway.url}/mcp`, signoff: config.signoffUrl, upstreams: config.file.upstreams.map((u) => u.name), worker: gateway.worker.workerId });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.emit('info', `${signal} received: stopping`);
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    gateway.stop().then(
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
  process.stderr.write(`mcp-gateway failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
