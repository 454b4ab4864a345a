import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpUpstreamConfig } from '@signoff/runtime';

export type UpstreamLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** Pages of `tools/list` read from one upstream at most (a hostile upstream could page forever). */
const MAX_TOOL_PAGES = 20;
/** Tools read from one upstream at most. */
const MAX_TOOLS = 1000;

/**
 * The connections to the upstream MCP servers: one SDK Client each, opened on first use and
 * opened again after it closed (a stdio server that exited, an HTTP server that restarted).
 */
export class UpstreamPool {
  private readonly clients = new Map<string, Promise<Client>>();
  private closed = false;

  constructor(
    readonly upstreams: readonly McpUpstreamConfig[],
    private readonly log: UpstreamLog,
    private readonly version = '0.1.0',
  ) {}

  has(server: string): boolean {
    return this.upstreams.some((u) => u.name === server);
  }

  private config(server: string): McpUpstreamConfig {
    const config = this.upstreams.find((u) => u.name === server);
    if (!config) throw new Error(`no upstream named ${server}`);
    return config;
  }

  /** The connected client of an upstream (connecting once; a failed or closed connection is dropped so the next use reconnects). */
  client(server: string): Promise<Client> {
    if (this.closed) return Promise.reject(new Error('the gateway is stopping'));
    const existing = this.clients.get(server);
    if (existing) return existing;
    const config = this.config(server);
    const connecting = (async () => {
      const client = new Client({ name: 'signoff-mcp-gateway', version: this.version });
      const transport =
        config.transport === 'stdio'
          ? new StdioClientTransport({ command: config.command, args: [...config.args], env: { ...inheritedEnv(), ...config.env }, cwd: config.cwd ?? undefined, stderr: 'inherit' })
          : new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: { ...config.headers } } });
      client.onclose = () => {
        if (this.clients.get(server) === connecting) this.clients.delete(server);
        if (!this.closed) this.log('warn', 'upstream connection closed; the next call reconnects', { upstream: server });
      };
      await client.connect(transport);
      this.log('info', 'upstream connected', { upstream: server, transport: config.transport });
      return client;
    })();
    this.clients.set(server, connecting);
    connecting.catch(() => {
      if (this.clients.get(server) === connecting) this.clients.delete(server);
    });
    return connecting;
  }

  /** Every tool of an upstream (all pages, bounded). */
  async listTools(server: string, signal?: AbortSignal): Promise<Tool[]> {
    const client = await this.client(server);
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const answer = await client.listTools(cursor ? { cursor } : undefined, { signal });
      tools.push(...answer.tools);
      cursor = answer.nextCursor;
      if (!cursor || tools.length >= MAX_TOOLS) break;
    }
    return tools.slice(0, MAX_TOOLS);
  }

  /** Calls a tool of an upstream (the side effect). No request timeout of its own: the worker's lease signal stops it. */
  async callTool(server: string, tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<CallToolResult> {
    const client = await this.client(server);
    const result = await client.callTool({ name: tool, arguments: args }, undefined, { signal, timeout: 24 * 3_600_000 });
    return result as CallToolResult;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map(async (c) => (await c).close()));
  }
}

/** What a spawned stdio upstream inherits: PATH and HOME (the SDK's own default set), not the gateway's secrets. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'NODE_OPTIONS']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}
