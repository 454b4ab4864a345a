import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';
import { parseMcpGatewayConfig, parseMcpGatewayFile } from './mcp-gateway.config';

const SECRET = 'x'.repeat(32);

function file(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-gw-config-'));
  const p = path.join(dir, 'gateway.yaml');
  fs.writeFileSync(p, text);
  return p;
}

describe('the MCP gateway file', () => {
  it('reads stdio and Streamable HTTP upstreams with their topic overrides', () => {
    const { file: f, problems } = parseMcpGatewayFile(
      `upstreams:
  - {name: files, command: node, args: [server.js, --stdio], env: {A: 1}, cwd: sub}
  - {name: web, url: "https://mcp.example.com/mcp", headers: {Authorization: Bearer x}, topics: {fetch: web.fetch}}
`,
      'gw.yaml',
      '/base',
    );
    expect(problems).toEqual([]);
    expect(f.upstreams).toEqual([
      { name: 'files', transport: 'stdio', command: 'node', args: ['server.js', '--stdio'], env: { A: '1' }, cwd: '/base/sub', topics: {} },
      { name: 'web', transport: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer x' }, topics: { fetch: 'web.fetch' } },
    ]);
  });

  it('lists every problem', () => {
    const { problems } = parseMcpGatewayFile(
      `upstreams:
  - {name: Files_1, command: node}
  - {name: a, url: "ftp://x"}
  - {name: a, command: x, url: "http://y"}
  - {name: b, url: "http://user:pw@h/mcp", topics: {t: "bad topic"}}
  - {name: c, command: node, colour: red}
extra: 1
`,
      'gw.yaml',
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('upstreams[0].name'),
        expect.stringContaining('upstreams[1].url must be http or https'),
        expect.stringContaining('upstreams[2].name a is used twice'),
        expect.stringContaining('upstreams[2] needs exactly one of command'),
        expect.stringContaining('must not carry credentials'),
        expect.stringContaining('topics.t'),
        expect.stringContaining('unknown field colour'),
        expect.stringContaining('unknown field extra'),
      ]),
    );
    expect(parseMcpGatewayFile('upstreams: []', 'gw.yaml').problems[0]).toContain('at least one');
    expect(parseMcpGatewayFile(': : :', 'gw.yaml').problems[0]).toContain('not YAML');
  });
});

describe('the gateway environment', () => {
  const gw = () => file('upstreams:\n  - {name: files, command: node}\n');

  it('standalone: SIGNOFF_MCP_GATEWAY turns the in-process gateway on, MCP_GATEWAY_* tune it', () => {
    expect(parseConfig({ EVENT_STORE_URL: 'pglite://memory' }).mcpGateway).toBeNull();
    const c = parseConfig({ EVENT_STORE_URL: 'pglite://memory', SIGNOFF_MCP_GATEWAY: gw(), MCP_GATEWAY_PORT: '9999', MCP_GATEWAY_HOLD_MS: '5000' }).mcpGateway;
    expect(c).toMatchObject({ port: 9999, holdMs: 5000, progressMs: 1000, file: { upstreams: [{ name: 'files' }] } });
    expect(() => parseConfig({ EVENT_STORE_URL: 'pglite://memory', SIGNOFF_MCP_GATEWAY: '/nonexistent.yaml' })).toThrow(/SIGNOFF_MCP_GATEWAY=\/nonexistent.yaml cannot be read/);
    expect(() => parseConfig({ EVENT_STORE_URL: 'pglite://memory', SIGNOFF_MCP_GATEWAY: gw(), MCP_GATEWAY_HOLD_MS: 'soon' })).toThrow(ConfigError);
  });

  it('the gateway process: everything it needs, every problem listed', () => {
    const gatewayEnv = {
      SIGNOFF_MCP_GATEWAY: gw(),
      SIGNOFF_URL: 'http://127.0.0.1:8080/',
      AUTH_JWT_SECRET: SECRET,
      KAFKA_BROKERS: '127.0.0.1:9092',
      WORKER_DATABASE_URL: 'postgres://u@h/db',
      SIGNOFF_GRANT_JWKS: 'https://dispatch.internal/.well-known/jwks.json',
      SIGNOFF_WORKER_TOKEN: 'tok',
    };
    const config = parseMcpGatewayConfig(gatewayEnv);
    expect(config).toMatchObject({ signoffUrl: 'http://127.0.0.1:8080', port: 8090, groupId: 'signoff-mcp-gateway', holdMs: 30_000, brokers: ['127.0.0.1:9092'] });
    // Under another topic prefix the gateways get a group of their own (see defaultWorkerGroupId).
    expect(parseMcpGatewayConfig({ ...gatewayEnv, KAFKA_TOPIC_PREFIX: 'acme.' }).groupId).toBe('acme.mcp-gateway');
    expect(() => parseMcpGatewayConfig({ ...gatewayEnv, KAFKA_TOPIC_PREFIX: 'acme/' })).toThrow(/KAFKA_TOPIC_PREFIX="acme\/" may only hold/);
    let problems: readonly string[] = [];
    try {
      parseMcpGatewayConfig({});
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems.join('\n')).toMatch(/SIGNOFF_MCP_GATEWAY is required[\s\S]*SIGNOFF_URL[\s\S]*AUTH_JWT_SECRET or AUTH_JWKS_URL[\s\S]*KAFKA_BROKERS[\s\S]*WORKER_DATABASE_URL[\s\S]*SIGNOFF_GRANT_JWKS[\s\S]*SIGNOFF_WORKER_TOKEN/);
  });
});
