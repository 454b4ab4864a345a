import http from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JwtVerifier, Principal } from '@signoff/runtime';
import type { Registry } from 'prom-client';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';

/** The largest request body `/mcp` reads (the arguments are bounded at 1 MB below this). */
export const MAX_MCP_BODY_BYTES = 2 * 1024 * 1024;

export interface McpHttpOptions {
  readonly verifier: JwtVerifier;
  readonly serverFor: (client: { token: string; principal: Principal }) => Server;
  readonly registry: Registry;
  readonly ready: () => boolean;
}

function jsonRpcError(res: http.ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

/**
 * Reads a body of at most `max` bytes; null when larger. The rest of a larger body is read and
 * dropped (so the client gets the 413 instead of a reset) up to 8 x `max`, then the connection is cut.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size > max) {
        over = true;
        chunks.length = 0;
        resolve(null);
      }
      if (over) {
        if (size > 8 * max) req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The gateway's HTTP listener: `POST /mcp` (MCP Streamable HTTP, stateless: a Server and a
 * transport per request), authenticated by `Authorization: Bearer <JWT>` verified the way the
 * services verify tokens (401 with `WWW-Authenticate: Bearer` otherwise; a token without the
 * `submitter` role is 403); `GET /health/live`, `GET /health/ready`, `GET /metrics`.
 */
export function createMcpHttpServer(options: McpHttpOptions): http.Server {
  return http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => jsonRpcError(res, 500, -32603, `internal error: ${(error as Error).message}`));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (req.method === 'GET' && (url.pathname === '/health/live' || url.pathname === '/health/ready')) {
      const ok = url.pathname === '/health/live' || options.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'starting' }));
      return;
    }
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType }).end(text);
      return;
    }
    if (url.pathname !== '/mcp') {
      jsonRpcError(res, 404, -32601, 'not found: the MCP endpoint is POST /mcp');
      return;
    }
    if (req.method !== 'POST') {
      // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
      jsonRpcError(res, 405, -32000, 'method not allowed: this gateway is stateless, use POST /mcp', { allow: 'POST' });
      return;
    }
    let principal: Principal;
    let token: string;
    try {
      principal = await options.verifier.verifyHeader(req.headers.authorization);
      token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')![1];
    } catch (error) {
      const unavailable = (error as { code?: string }).code === 'auth_unavailable';
      jsonRpcError(res, unavailable ? 503 : 401, -32001, unavailable ? 'the identity provider cannot be reached; retry' : 'unauthenticated: send Authorization: Bearer <a Signoff JWT with the role submitter>', unavailable ? {} : { 'www-authenticate': 'Bearer' });
      return;
    }
    if (!principal.roles.has('submitter')) {
      jsonRpcError(res, 403, -32001, 'forbidden: tool calls need a token with the role submitter');
      return;
    }
    const body = await readBody(req, MAX_MCP_BODY_BYTES);
    if (body === null) {
      jsonRpcError(res, 413, -32600, `request body larger than ${MAX_MCP_BODY_BYTES} bytes`, { connection: 'close' });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      jsonRpcError(res, 400, -32700, 'parse error: the body is not JSON');
      return;
    }
    const server = options.serverFor({ token, principal });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    const authed = req as http.IncomingMessage & { auth?: { token: string; clientId: string; scopes: string[] } };
    authed.auth = { token, clientId: principal.sub, scopes: [...principal.roles] };
    await transport.handleRequest(authed, res, parsed);
  }
}
