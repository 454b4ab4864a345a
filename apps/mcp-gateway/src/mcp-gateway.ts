import type http from 'node:http';
import { AuthOptions, JwtVerifier, McpGatewayFile } from '@signoff/runtime';
import type { Worker } from '@signoff/worker-sdk';
import { Counter, Registry } from 'prom-client';
import { CallToolHandler } from './call/call-tool.handler';
import { createMcpHttpServer } from './server/mcp-http.server';
import { createMcpServer } from './server/mcp-server.factory';
import { ClientSignoffApi } from './signoff/client-signoff.api';
import { SignoffApi } from './signoff/signoff-api.port';
import { ToolCatalog } from './tools/tool-catalog';
import { UpstreamPool } from './upstream/upstream-pool';
import { startGatewayWorker, type GatewayWorkerOptions } from './worker/gateway-worker';
import { LocalOutcomes } from './worker/local-outcomes';

/** Everything a gateway needs: where Signoff is, whom to trust, the upstreams, and where its worker runs. */
export interface McpGatewayOptions extends Omit<GatewayWorkerOptions, 'pool' | 'catalog' | 'outcomes'> {
  readonly file: McpGatewayFile;
  /** The Signoff API (`http://host:port`), or a SignoffApi you hold. */
  readonly signoff: string | SignoffApi;
  readonly auth: AuthOptions;
  readonly host: string;
  readonly port: number;
  readonly holdMs: number;
  readonly progressMs: number;
  // The worker's options (GatewayWorkerOptions): a bus you hold (the standalone's) or Kafka brokers, its claim store, keys and token.
}

/** A running gateway. */
export interface McpGateway {
  /** `http://host:port`; the MCP endpoint is `${url}/mcp`. */
  readonly url: string;
  readonly worker: Worker;
  stop(): Promise<void>;
}

const CALLS_METRIC = 'signoff_mcp_tool_calls_total';

/**
 * Starts the MCP approval gateway: its worker (the upstream calls of approved and allowed jobs),
 * then the `/mcp` listener. Upstreams are connected on first use (and again after they close).
 */
export async function startMcpGateway(options: McpGatewayOptions): Promise<McpGateway> {
  const registry = options.registry ?? new Registry();
  const calls =
    (registry.getSingleMetric(CALLS_METRIC) as Counter<'outcome'> | undefined) ??
    new Counter({ name: CALLS_METRIC, help: 'MCP tools/call answered by the gateway, by outcome (succeeded or the Signoff code)', labelNames: ['outcome'] as const, registers: [registry] });
  const signoff = typeof options.signoff === 'string' ? new ClientSignoffApi(options.signoff) : options.signoff;
  const pool = new UpstreamPool(options.file.upstreams, options.log);
  const catalog = new ToolCatalog(pool, options.file.upstreams, options.log);
  const outcomes = new LocalOutcomes();
  const worker = await startGatewayWorker({
    bus: options.bus,
    brokers: options.brokers,
    topicPrefix: options.topicPrefix,
    groupId: options.groupId,
    workerId: options.workerId,
    databaseUrl: options.databaseUrl,
    db: options.db,
    grantKeys: options.grantKeys,
    workerToken: options.workerToken,
    leaseMs: options.leaseMs,
    registry,
    pool,
    catalog,
    outcomes,
    log: options.log,
  });
  await worker.start();
  const handler = new CallToolHandler({ signoff, catalog, outcomes, holdMs: options.holdMs, progressMs: options.progressMs, calls });
  const verifier = new JwtVerifier(options.auth);
  const server: http.Server = createMcpHttpServer({
    verifier,
    registry,
    ready: () => true,
    serverFor: (client) => createMcpServer({ catalog, signoff, calls: handler }, client),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    worker,
    stop: async () => {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.stop();
      await pool.close();
    },
  };
}
