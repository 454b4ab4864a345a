/**
 * MCP gateway benchmark (issue 13 §2): the latency an allowed tool call gains by going through
 * the gateway (`tools/call` -> policy -> job stored -> dispatched -> the gateway's worker claims
 * it and calls the upstream -> result) against calling the same upstream directly, both measured
 * in the same run by the same MCP SDK Client, one call at a time, alternating.
 *
 *   node -r ./tools/register.cjs test/bench/mcp-gateway.bench.ts
 *
 * BENCH_DATABASE_URL, BENCH_KAFKA_BROKERS (`npm run bench` starts both; durable PostgreSQL).
 * Two compositions:
 * 1. distributed: the control plane (the standalone composition, as its own process) on Kafka and
 *    PostgreSQL, the gateway as its own process (`apps/mcp-gateway`, claims in PostgreSQL);
 * 2. `npm start` with SIGNOFF_MCP_GATEWAY: everything in one process (in-process bus, PGlite).
 * The upstream is the test upstream (`test/e2e/fixtures/mcp-upstream.ts`) over Streamable HTTP.
 * BENCH_MCP_SAMPLES (default 300) calls per path after 30 warm-up calls. About 60 s on 2 cores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { freePort } from '../../deploy/local/ports';
import { TEST_JWT_SECRET, tokenFor } from '../support/app';
import { testKeys, testTrustEnv, testWorkerToken } from '../support/keys';
import { ServiceProcess, startApp, startScript } from '../support/processes';
import { freshDatabase } from './support/service-cost';

const SAMPLES = Number(process.env.BENCH_MCP_SAMPLES ?? 300);
const WARMUP = 30;
const UPSTREAM = 'test/e2e/fixtures/mcp-upstream.ts';
const POLICY = 'test/e2e/fixtures/mcp-gateway-policy.yaml';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function connect(url: string, token?: string): Promise<McpClient> {
  const client = new McpClient({ name: 'bench', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : undefined));
  return client;
}

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

/** Alternates a direct call and a gateway call of `echo`, SAMPLES each after the warm-up; every answer is checked. */
async function measure(direct: McpClient, gateway: McpClient, gatewayTool: string): Promise<{ direct: Figures; gateway: Figures }> {
  const d: number[] = [];
  const g: number[] = [];
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    const text = `bench-${i}-${randomBytes(4).toString('hex')}`;
    let t = performance.now();
    const a = await direct.callTool({ name: 'echo', arguments: { text } });
    const dt = performance.now() - t;
    t = performance.now();
    const b = await gateway.callTool({ name: gatewayTool, arguments: { text } });
    const gt = performance.now() - t;
    const ok = (r: typeof a) => !r.isError && JSON.stringify(r.content) === JSON.stringify([{ type: 'text', text }]);
    if (!ok(a) || !ok(b)) throw new Error(`unexpected answer: direct ${JSON.stringify(a)}, gateway ${JSON.stringify(b)}`);
    if (i >= WARMUP) {
      d.push(dt);
      g.push(gt);
    }
  }
  return { direct: figures(d), gateway: figures(g) };
}

function rows(name: string, m: { direct: Figures; gateway: Figures }): string[] {
  const ms = (v: number) => v.toFixed(1);
  return [
    `| ${name}: upstream directly | ${ms(m.direct.p50)} | ${ms(m.direct.p99)} | ${ms(m.direct.mean)} | baseline |`,
    `| ${name}: through the gateway | ${ms(m.gateway.p50)} | ${ms(m.gateway.p99)} | ${ms(m.gateway.mean)} | ${(m.gateway.p50 / m.direct.p50).toFixed(1)}× (p50) |`,
    `| ${name}: added by the gateway | ${ms(m.gateway.p50 - m.direct.p50)} | ${ms(m.gateway.p99 - m.direct.p99)} | ${ms(m.gateway.mean - m.direct.mean)} | - |`,
  ];
}

export async function main(): Promise<void> {
  const baseUrl = process.env.BENCH_DATABASE_URL;
  const brokers = process.env.BENCH_KAFKA_BROKERS;
  if (!baseUrl || !brokers) throw new Error('run it with npm run bench (BENCH_DATABASE_URL and BENCH_KAFKA_BROKERS)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-bench-mcp-'));
  const procs: ServiceProcess[] = [];
  const clients: McpClient[] = [];
  try {
    const upstreamPort = await freePort();
    const upstream = await startScript(UPSTREAM, { PORT: String(upstreamPort) }, 30_000, 'live');
    procs.push(upstream);
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}/mcp`;
    const gatewayFile = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(gatewayFile, JSON.stringify({ upstreams: [{ name: 'files', url: upstreamUrl }] }));
    const token = await tokenFor('bench-agent', ['submitter']);
    const direct = await connect(upstreamUrl);
    clients.push(direct);

    // 1. distributed: control plane and gateway as processes, Kafka, durable PostgreSQL.
    const prefix = `benchmcp${randomBytes(3).toString('hex')}.`;
    const [events, claims] = await Promise.all([freshDatabase(baseUrl, 'bench_mcp_events'), freshDatabase(baseUrl, 'bench_mcp_claims')]);
    const trust = await testTrustEnv();
    const signoff = await startApp('standalone', { ...trust, EVENT_STORE_URL: events, KAFKA_BROKERS: brokers, KAFKA_TOPIC_PREFIX: prefix, POLICY_PATH: POLICY, GRPC_PORT: '0', LOG_LEVEL: 'warn' });
    procs.push(signoff);
    const gateway = await startApp('mcp-gateway', {
      SIGNOFF_MCP_GATEWAY: gatewayFile,
      SIGNOFF_URL: signoff.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      WORKER_DATABASE_URL: claims,
      SIGNOFF_GRANT_JWKS: testKeys().jwksFile,
      SIGNOFF_WORKER_TOKEN: await testWorkerToken('bench-mcp-gateway'),
      WORKER_GROUP_ID: `${prefix}mcp-gateway`,
      LOG_LEVEL: 'warn',
    });
    procs.push(gateway);
    const viaGateway = await connect(`${gateway.url}/mcp`, token);
    clients.push(viaGateway);
    log(`distributed: ${WARMUP} + ${SAMPLES} calls per path`);
    const distributed = await measure(direct, viaGateway, 'files__echo');
    await signoff.stop();
    await gateway.stop();

    // 2. npm start with SIGNOFF_MCP_GATEWAY: one process, in-process bus, PGlite.
    const gatewayPort = await freePort();
    const standalone = await startApp('standalone', {
      EVENT_STORE_URL: `pglite://${path.join(dir, 'data')}`,
      POLICY_PATH: POLICY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      GRPC_PORT: '0',
      SIGNOFF_MCP_GATEWAY: gatewayFile,
      MCP_GATEWAY_PORT: String(gatewayPort),
      LOG_LEVEL: 'warn',
    });
    procs.push(standalone);
    const inProcess = await connect(`http://127.0.0.1:${gatewayPort}/mcp`, token);
    clients.push(inProcess);
    log(`npm start: ${WARMUP} + ${SAMPLES} calls per path`);
    const embedded = await measure(direct, inProcess, 'files__echo');

    process.stdout.write(
      [
        `Allowed \`tools/call\` of \`echo\`, one call at a time, ${SAMPLES} per path (after ${WARMUP} warm-up), direct and gateway calls alternating; milliseconds.`,
        '',
        '| path | p50 | p99 | mean | ratio |',
        '| --- | ---: | ---: | ---: | --- |',
        ...rows('distributed (Kafka, PostgreSQL)', distributed),
        ...rows('npm start (in-process, PGlite)', embedded),
        '',
        `Added latency of an allowed call: p50 ${(distributed.gateway.p50 - distributed.direct.p50).toFixed(1)} ms / p99 ${(distributed.gateway.p99 - distributed.direct.p99).toFixed(1)} ms distributed, p50 ${(embedded.gateway.p50 - embedded.direct.p50).toFixed(1)} ms / p99 ${(embedded.gateway.p99 - embedded.direct.p99).toFixed(1)} ms under npm start.`,
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(procs.map((p) => p.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
