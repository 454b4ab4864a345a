import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  | { readonly kind: 'pass' }
  /** Forward it, then cut the connection instead of answering (the answer is lost). */
  | { readonly kind: 'lose-answer' }
  /** Answer this instead of forwarding. */
  | { readonly kind: 'answer'; readonly status: number; readonly headers?: Record<string, string>; readonly body: string }
  /** Close the connection without a byte. */
  | { readonly kind: 'refuse' }
  /** Forward a stream and cut it after this long. */
  | { readonly kind: 'cut-after'; readonly ms: number };

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * An HTTP proxy in front of a real server that injects faults per request (lost answers, 503s,
 * refused connections, streams cut mid-way) and records what it saw: what a client meets
 * between it and Signoff (load balancers, restarts, flaky networks).
 */
export class FaultProxy {
  readonly seen: SeenRequest[] = [];
  fault: (req: SeenRequest, index: number) => Fault = () => ({ kind: 'pass' });
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(upstream: string): Promise<FaultProxy> {
    const target = new URL(upstream);
    let proxy: FaultProxy | undefined = undefined;
    const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      const seen = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
      proxy!.seen.push(seen);
      const fault = proxy!.fault(seen, proxy!.seen.length - 1);
      if (fault.kind === 'refuse') return void req.socket.destroy();
      if (fault.kind === 'answer') {
        req.resume();
        return void res.writeHead(fault.status, fault.headers ?? {}).end(fault.body);
      }
      const upstreamReq = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        if (fault.kind === 'lose-answer') {
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        if (fault.kind === 'cut-after') {
          const timer = setTimeout(() => {
            up.destroy();
            req.socket.destroy();
          }, fault.ms);
          res.on('close', () => clearTimeout(timer));
        }
        res.on('close', () => up.destroy());
      });
      upstreamReq.on('error', () => req.socket.destroy());
      req.pipe(upstreamReq);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return proxy;
  }

  /** The requests seen whose path starts with `prefix` (after `/api/v1`). */
  requests(method: string, prefix: string): SeenRequest[] {
    return this.seen.filter((r) => r.method === method && r.path.startsWith(`/api/v1${prefix}`));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
