import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../deploy/local/ports';
import { TEST_JWT_SECRET, tokenFor } from '../support/app';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testKeys, testTrustEnv, testWorkerToken } from '../support/keys';
import { ROOT, ServiceProcess, startApp, startScript } from '../support/processes';
import { SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

const POLICY = 'test/e2e/fixtures/mcp-gateway-policy.yaml';
const UPSTREAM = 'test/e2e/fixtures/mcp-upstream.ts';
const REF = 'signoff/approval_ref';
const HOLD_MS = 4000;

type Meta = Record<string, Record<string, unknown>>;
const meta = (r: CallToolResult) => (r._meta ?? {}) as Meta;
const errorOf = (r: CallToolResult) => meta(r)['signoff/error'] ?? {};

/** Executions the upstream recorded (one JSON line per run), of one tool, optionally with one `to`/`text`. */
function executions(file: string, tool: string, match: (args: Record<string, unknown>) => boolean = () => true): number {
  if (!fs.existsSync(file)) return 0;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tool: string; args: Record<string, unknown> })
    .filter((e) => e.tool === tool && match(e.args)).length;
}

/** A real MCP client (the SDK's) on the gateway's Streamable HTTP endpoint with a bearer token. */
async function mcpClient(gatewayUrl: string, token: string): Promise<Client> {
  const client = new Client({ name: 'e2e-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gatewayUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/**
 * The MCP approval gateway (issue 13 §2) on the real pieces: the Signoff control plane (the
 * standalone composition on the real Kafka broker and PostgreSQL), two gateway processes (one
 * consumer group, one claim table in PostgreSQL), an upstream MCP server over Streamable HTTP and
 * one over stdio (both the real MCP SDK, counting executions in a file), and the SDK's Client as
 * the agent. Every execution of a tool is counted where it lands.
 */
describe('MCP gateway: tools/call through Signoff, run once', () => {
  const prefix = `mcpgw${randomBytes(3).toString('hex')}.`;
  const procs: ServiceProcess[] = [];
  const closers: Array<() => Promise<void>> = [];
  let dir: string;
  let httpCounter: string;
  let stdioCounter: string;
  let signoff: ServiceProcess;
  let gatewayEnv: Record<string, string>;
  let gwA: ServiceProcess;
  let gwB: ServiceProcess;
  let agentToken: string;
  let agent: Client;
  let agentOnB: Client;
  let reviewer: SignoffClient;
  let asAgent: SignoffClient;

  const startGateway = async (id: string): Promise<ServiceProcess> => {
    const p = await startApp('mcp-gateway', { ...gatewayEnv, WORKER_ID: id });
    procs.push(p);
    return p;
  };
  const client = async (gateway: ServiceProcess, token = agentToken) => {
    const c = await mcpClient(gateway.url, token);
    closers.push(() => c.close());
    return c;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-mcp-'));
    httpCounter = path.join(dir, 'http-upstream.jsonl');
    stdioCounter = path.join(dir, 'stdio-upstream.jsonl');
    const [events, claims] = await Promise.all([createTestDatabase('e2emcp'), createTestDatabase('e2emcpclaims')]);
    closers.push(events.drop, claims.drop);
    const brokers = testKafkaBrokers().join(',');
    const trust = await testTrustEnv();
    const upstreamPort = await freePort();
    const [control, upstream] = await Promise.all([
      startApp('standalone', {
        ...trust,
        EVENT_STORE_URL: events.url,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_PREFIX: prefix,
        POLICY_PATH: POLICY,
        GRPC_PORT: '0',
        DISPATCH_GRACE_MS: '1000',
      }),
      startScript(UPSTREAM, { PORT: String(upstreamPort), COUNTER_FILE: httpCounter, HOSTILE_TOOLS: '1' }, 30_000, 'live'),
    ]);
    signoff = control;
    procs.push(control, upstream);
    const gatewayFile = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(
      gatewayFile,
      JSON.stringify({
        upstreams: [
          { name: 'files', url: `http://127.0.0.1:${upstreamPort}/mcp` },
          { name: 'local', command: process.execPath, args: ['-r', path.join(ROOT, 'tools/register.cjs'), path.join(ROOT, UPSTREAM), '--stdio'], env: { COUNTER_FILE: stdioCounter } },
        ],
      }),
    );
    gatewayEnv = {
      SIGNOFF_MCP_GATEWAY: gatewayFile,
      SIGNOFF_URL: signoff.url,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      WORKER_DATABASE_URL: claims.url,
      SIGNOFF_GRANT_JWKS: testKeys().jwksFile,
      SIGNOFF_WORKER_TOKEN: await testWorkerToken('mcp-gateway'),
      WORKER_GROUP_ID: `${prefix}mcp-gateway`,
      WORKER_LEASE_MS: '5000',
      MCP_GATEWAY_HOLD_MS: String(HOLD_MS),
      MCP_GATEWAY_PROGRESS_MS: '200',
    };
    [gwA, gwB] = await Promise.all([startGateway('gw-a'), startGateway('gw-b')]);
    agentToken = await tokenFor('agent-1', ['submitter']);
    agent = await client(gwA);
    agentOnB = await client(gwB);
    reviewer = await SignoffClient.as(signoff.url, 'rita', ['reviewer']);
    asAgent = await SignoffClient.as(signoff.url, 'agent-1', ['submitter']);
  }, 180_000);

  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    await Promise.allSettled(procs.map((p) => p.stop('SIGKILL')));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tools/list: every upstream tool under <server>__<tool>, which need approval in _meta, hostile names left out', async () => {
    const { tools } = await agent.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    const policy = (name: string) => byName.get(name)?._meta?.['signoff/policy'] as Record<string, unknown> | undefined;
    expect(policy('files__send_payment')).toMatchObject({ topic: 'mcp.files.send_payment', decision: 'require_human', requires_approval: true, rule_id: 'mcp-payments-need-approval' });
    expect(byName.get('files__send_payment')?.description).toContain('needs human approval');
    expect(policy('files__echo')).toMatchObject({ decision: 'allow', requires_approval: false });
    expect(policy('files__delete_records')).toMatchObject({ decision: 'deny' });
    expect(policy('local__echo')).toMatchObject({ topic: 'mcp.local.echo', decision: 'allow' });
    // Upstream annotations and schemas pass through.
    expect(byName.get('files__echo')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('files__send_payment')?.inputSchema).toMatchObject({ required: ['amount', 'to'] });
    // Hostile upstream names: refused (NUL, non-ASCII, U+2028, too long, colliding), or sanitized (`path/to:tool`).
    expect(byName.has('files__path_to_tool')).toBe(true);
    for (const name of tools.map((t) => t.name)) expect(name).toMatch(/^[a-z0-9-]+__[A-Za-z0-9._-]+$/);
    expect(tools.some((t) => /dup_a/i.test(t.name))).toBe(false);
    expect(tools.filter((t) => t.name.startsWith('files__'))).toHaveLength(7);
  });

  it('an allowed tool runs (over Streamable HTTP and over stdio), once, and its result is recorded on the job', async () => {
    const result = (await agent.callTool({ name: 'files__echo', arguments: { text: 'allowed-1' } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'allowed-1' }]);
    expect(result.structuredContent).toEqual({ echoed: 'allowed-1' });
    const job = meta(result)['signoff/job'] as { job_id: string; decision: string; topic: string };
    expect(job).toMatchObject({ decision: 'allow', topic: 'mcp.files.echo' });
    expect(executions(httpCounter, 'echo', (a) => a.text === 'allowed-1')).toBe(1);
    await eventually(async () => (await asAgent.job(job.job_id)).body.state === 'SUCCEEDED', 'the job to be SUCCEEDED', 15_000);
    const view = (await asAgent.job(job.job_id)).body as { result: { result: { content: unknown } }; topic: string };
    expect(view.result.result.content).toEqual([{ type: 'text', text: 'allowed-1' }]);

    const local = (await agentOnB.callTool({ name: 'local__echo', arguments: { text: 'over-stdio' } })) as CallToolResult;
    expect(local.content).toEqual([{ type: 'text', text: 'over-stdio' }]);
    expect(executions(stdioCounter, 'echo', (a) => a.text === 'over-stdio')).toBe(1);
  });

  it('a denied tool is refused with its rule and reason and never runs; a throttled one with Retry-After', async () => {
    const denied = (await agent.callTool({ name: 'files__delete_records', arguments: { table: 'customers' } })) as CallToolResult;
    expect(denied.isError).toBe(true);
    expect(errorOf(denied)).toMatchObject({ code: 'policy_denied', rule_id: 'mcp-delete-denied', message: expect.stringContaining('Agents never delete records') });
    expect((await asAgent.job(errorOf(denied).job_id as string)).body.state).toBe('DENIED');

    expect((await agent.callTool({ name: 'local__slow', arguments: { ms: 1 } })).isError).toBeFalsy();
    const throttled = (await agent.callTool({ name: 'local__slow', arguments: { ms: 1 } })) as CallToolResult;
    expect(errorOf(throttled)).toMatchObject({ code: 'throttled', rule_id: 'mcp-slow-burst' });
    expect(errorOf(throttled).retry_after_seconds).toBeGreaterThan(0);
    expect(executions(httpCounter, 'delete_records')).toBe(0);
    expect(executions(stdioCounter, 'slow')).toBe(1);
  });

  it('a result too large (or unstorable) to record: the client on the running instance gets it, the job records a stand-in and SUCCEEDS', async () => {
    for (const args of [{ bytes: 2_000_000 }, { bytes: 5, nul: true }]) {
      // Both clients: whichever instance ran it, the job must end SUCCEEDED (a refused report would leave it RUNNING).
      const result = (await agent.callTool({ name: 'files__big', arguments: args })) as CallToolResult;
      const text = (result.content[0] as { text: string }).text;
      expect(text.length === args.bytes + (args.nul ? 1 : 0) || text.includes('was not recorded')).toBe(true);
      const id = (meta(result)['signoff/job'] as { job_id: string }).job_id;
      await eventually(async () => (await asAgent.job(id)).body.state === 'SUCCEEDED', 'the big job to be SUCCEEDED', 20_000);
      const stored = (await asAgent.job(id)).body.result as { result: { content: { text: string }[] } };
      expect(stored.result.content[0].text).toContain('was not recorded');
    }
    expect(executions(httpCounter, 'big')).toBe(2);
  });

  it('a tool error is a tool error, recorded on the job as FAILED', async () => {
    const failed = (await agent.callTool({ name: 'files__fail', arguments: { reason: 'disk full' } })) as CallToolResult;
    expect(errorOf(failed)).toMatchObject({ code: 'tool_failed', message: 'failed: disk full' });
    const id = errorOf(failed).job_id as string;
    await eventually(async () => (await asAgent.job(id)).body.state === 'FAILED', 'the job to be FAILED', 15_000);
    expect(((await asAgent.job(id)).body.result as { error: string }).error).toBe('failed: disk full');
  });

  it('an approval-required tool waits (progress naming the ref), a reviewer approves over HTTP, the call completes, one execution', async () => {
    const progress: Progress[] = [];
    let approved: Promise<unknown> | null = null;
    const result = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 120, to: 'carol' } }, undefined, {
      timeout: 60_000,
      onprogress: (p) => {
        progress.push(p);
        const ref = (((p as { _meta?: Meta })._meta)?.['signoff/approval']?.approval_ref as string | undefined) ?? null;
        if (ref && !approved) approved = reviewer.approve(ref, { reason: 'invoice checked' });
      },
    })) as CallToolResult;
    expect(approved).not.toBeNull();
    expect(((await approved!) as { status: number }).status).toBe(200);
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'paid 120 to carol' }]);
    const job = meta(result)['signoff/job'] as { job_id: string; decision: string };
    expect(job.decision).toBe('approved');
    expect(progress[0].message).toContain(job.job_id);
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'carol')).toBe(1);

    // A later retry with the ref gets the stored result, and runs nothing.
    const again = (await agentOnB.callTool({ name: 'files__send_payment', arguments: { to: 'carol', amount: 120 }, _meta: { [REF]: job.job_id } })) as CallToolResult;
    expect(again.content).toEqual(result.content);
    expect(again.structuredContent).toEqual(result.structuredContent);
    // The same ref with other arguments is refused.
    const changed = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 121, to: 'carol' }, _meta: { [REF]: job.job_id } })) as CallToolResult;
    expect(errorOf(changed)).toMatchObject({ code: 'job_request_changed' });
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'carol')).toBe(1);
    await eventually(async () => (await asAgent.job(job.job_id)).body.state === 'SUCCEEDED', 'the job to be SUCCEEDED', 15_000);
  });

  it('past the hold bound: approval_pending with ref, expiry and args hash; concurrent retries with the ref on both instances execute once', async () => {
    const pending = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 9, to: 'dave' } })) as CallToolResult;
    const approval = meta(pending)['signoff/approval'] as { approval_ref: string; expires_at: string; args_hash: string; status: string };
    expect(errorOf(pending).code).toBe('approval_pending');
    expect(approval.status).toBe('pending');
    expect(approval.approval_ref).toMatch(/^mcp-[0-9a-f]{32}$/);
    expect(Date.parse(approval.expires_at)).toBeGreaterThan(Date.now());
    expect(approval.args_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'dave')).toBe(0);

    const retries = Array.from({ length: 6 }, (_v, i) =>
      (i % 2 === 0 ? agent : agentOnB).callTool({ name: 'files__send_payment', arguments: { amount: 9, to: 'dave' }, _meta: { [REF]: approval.approval_ref } }, undefined, { timeout: 60_000 }),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await reviewer.approve(approval.approval_ref)).body.status).toBe('approved');
    const answers = (await Promise.all(retries)) as CallToolResult[];
    for (const a of answers) expect(a.content).toEqual([{ type: 'text', text: 'paid 9 to dave' }]);
    // One run, one receipt (key order aside: a stored result went through PostgreSQL's jsonb).
    for (const a of answers) expect(a.structuredContent).toEqual(answers[0].structuredContent);
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'dave')).toBe(1);
  });

  it('refuses forged and foreign refs, hostile arguments, unknown tools, missing or wrong credentials', async () => {
    const forged = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 1, to: 'eve' }, _meta: { [REF]: `mcp-${'0'.repeat(32)}` } })) as CallToolResult;
    expect(errorOf(forged).code).toBe('unknown_approval_ref');
    const malformed = (await agent.callTool({ name: 'files__echo', arguments: { text: 'x' }, _meta: { [REF]: '../approvals/x' } })) as CallToolResult;
    expect(errorOf(malformed).code).toBe('invalid_approval_ref');
    // Another agent's ref is not found for this one (Signoff answers 404 for a job the caller may not read).
    const theirs = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 2, to: 'frank' } })) as CallToolResult;
    const otherAgent = await client(gwB, await tokenFor('agent-2', ['submitter']));
    const stolen = (await otherAgent.callTool({ name: 'files__send_payment', arguments: { amount: 2, to: 'frank' }, _meta: { [REF]: (meta(theirs)['signoff/approval'] as { approval_ref: string }).approval_ref } })) as CallToolResult;
    expect(errorOf(stolen).code).toBe('unknown_approval_ref');

    expect(errorOf((await agent.callTool({ name: 'files__echo', arguments: { text: 'nul\u0000byte' } })) as CallToolResult).code).toBe('invalid_arguments');
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(errorOf((await agent.callTool({ name: 'files__echo', arguments: { text: 'x', deep } })) as CallToolResult).code).toBe('invalid_arguments');
    expect(errorOf((await agent.callTool({ name: 'files__echo', arguments: { text: 'y'.repeat(1_200_000) } })) as CallToolResult).code).toBe('arguments_too_large');
    expect(errorOf((await agent.callTool({ name: 'files__nope', arguments: {} })) as CallToolResult).code).toBe('unknown_tool');
    expect(errorOf((await agent.callTool({ name: 'files__bad\u0000name', arguments: {} })) as CallToolResult).code).toBe('unknown_tool');
    expect(errorOf((await agent.callTool({ name: 'x'.repeat(10_000), arguments: {} })) as CallToolResult).code).toBe('unknown_tool');

    const rpc = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const post = (headers: Record<string, string>, body: string = JSON.stringify(rpc)) =>
      fetch(`${gwA.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
    const none = await post({});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post({ authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${await tokenFor('rita', ['reviewer'])}` })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${agentToken}` }, 'x'.repeat(3 * 1024 * 1024))).status).toBe(413);
    expect((await post({ authorization: `Bearer ${agentToken}` }, '{"jsonrpc":')).status).toBe(400);
    expect((await fetch(`${gwA.url}/mcp`, { headers: { authorization: `Bearer ${agentToken}` } })).status).toBe(405);
    // Nothing of the above ran.
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'eve' || a.to === 'frank')).toBe(0);
  });

  it('a job that labels a tool it was not evaluated for (submitted straight to Signoff) fails and calls nothing', async () => {
    const forged = await asAgent.submit({ job_id: `forged-${randomBytes(4).toString('hex')}`, topic: 'mcp.files.echo', labels: { 'mcp.server': 'files', 'mcp.tool': 'delete_records' }, payload: { table: 'all' } });
    expect(forged.status).toBe(202);
    const id = forged.body.job_id as string;
    await eventually(async () => (await asAgent.job(id)).body.state === 'FAILED', 'the forged job to fail', 20_000);
    expect(((await asAgent.job(id)).body.result as { error: string }).error).toContain('not the topic of');
    expect(executions(httpCounter, 'delete_records')).toBe(0);
  });

  it('a gateway SIGKILLed mid-wait loses nothing: the other instance runs the approved call once, a retry there and on the restarted one gets the result', async () => {
    let ref: string | null = null;
    const killedCall = agent
      .callTool({ name: 'files__send_payment', arguments: { amount: 77, to: 'grace' } }, undefined, {
        timeout: 30_000,
        onprogress: (p) => {
          ref ??= (((p as { _meta?: Meta })._meta)?.['signoff/approval']?.approval_ref as string | undefined) ?? null;
        },
      })
      .then(
        () => 'answered',
        () => 'lost',
      );
    await eventually(async () => ref !== null, 'the first progress notification', 15_000);
    gwA.child.kill('SIGKILL');
    expect(await killedCall).toBe('lost');
    expect((await reviewer.approve(ref!)).body.status).toBe('approved');
    // gw-b takes over gw-a's partitions once its session times out, and runs the approved call.
    await eventually(async () => (await asAgent.job(ref!)).body.state === 'SUCCEEDED', 'the approved call to run on the surviving gateway', 60_000);
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'grace')).toBe(1);
    const onB = (await agentOnB.callTool({ name: 'files__send_payment', arguments: { amount: 77, to: 'grace' }, _meta: { [REF]: ref! } })) as CallToolResult;
    expect(onB.content).toEqual([{ type: 'text', text: 'paid 77 to grace' }]);

    const restarted = await startGateway('gw-a-restarted');
    const onRestarted = (await (await client(restarted)).callTool({ name: 'files__send_payment', arguments: { amount: 77, to: 'grace' }, _meta: { [REF]: ref! } })) as CallToolResult;
    expect(onRestarted.content).toEqual(onB.content);
    expect(executions(httpCounter, 'send_payment', (a) => a.to === 'grace')).toBe(1);
  }, 120_000);
});

/** `npm start` with SIGNOFF_MCP_GATEWAY: the gateway in-process on the standalone's bus and PGlite. */
describe('MCP gateway in-process (npm start with SIGNOFF_MCP_GATEWAY)', () => {
  let dir: string;
  let app: ServiceProcess;
  let gatewayPort: number;
  let counter: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-mcp-standalone-'));
    counter = path.join(dir, 'count.jsonl');
    const file = path.join(dir, 'gateway.yaml');
    fs.writeFileSync(file, `upstreams:\n  - name: files\n    command: ${JSON.stringify(process.execPath)}\n    args: ["-r", ${JSON.stringify(path.join(ROOT, 'tools/register.cjs'))}, ${JSON.stringify(path.join(ROOT, UPSTREAM))}, "--stdio"]\n    env: {COUNTER_FILE: ${JSON.stringify(counter)}}\n`);
    gatewayPort = await freePort();
    app = await startApp('standalone', {
      EVENT_STORE_URL: `pglite://${path.join(dir, 'data')}`,
      POLICY_PATH: POLICY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      GRPC_PORT: '0',
      SIGNOFF_MCP_GATEWAY: file,
      MCP_GATEWAY_PORT: String(gatewayPort),
      MCP_GATEWAY_HOLD_MS: '2000',
      LOG_LEVEL: 'info',
    });
  }, 90_000);
  afterAll(async () => {
    await app?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the MCP endpoint, runs an allowed call once (not the demo worker), holds one that needs approval', async () => {
    await eventually(async () => app.output().includes(`MCP:     http://127.0.0.1:${gatewayPort}/mcp`), 'the banner to name the MCP endpoint', 10_000);
    const agent = await mcpClient(`http://127.0.0.1:${gatewayPort}`, await tokenFor('agent-1', ['submitter']));
    try {
      const ok = (await agent.callTool({ name: 'files__echo', arguments: { text: 'in-process' } })) as CallToolResult;
      expect(ok.content).toEqual([{ type: 'text', text: 'in-process' }]);
      expect(executions(counter, 'echo')).toBe(1);
      const held = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 3, to: 'heidi' } })) as CallToolResult;
      expect(errorOf(held).code).toBe('approval_pending');
      const reviewer = await SignoffClient.as(app.url, 'rita', ['reviewer']);
      const ref = (meta(held)['signoff/approval'] as { approval_ref: string }).approval_ref;
      expect((await reviewer.approve(ref)).body.status).toBe('approved');
      const done = (await agent.callTool({ name: 'files__send_payment', arguments: { amount: 3, to: 'heidi' }, _meta: { [REF]: ref } })) as CallToolResult;
      expect(done.content).toEqual([{ type: 'text', text: 'paid 3 to heidi' }]);
      expect(executions(counter, 'send_payment')).toBe(1);
    } finally {
      await agent.close();
    }
  });
});
