import http from 'node:http';
import { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.commands';

/** The CLI's reviewer commands against a recording HTTP server: the routes and the tenant they name. */
describe('approvals commands over HTTP', () => {
  let server: http.Server;
  let base: string;
  const seen: { method: string; url: string; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = async (...argv: string[]) => {
    const errors: string[] = [];
    const code = await runCli(argv, { out: () => undefined, err: (l) => errors.push(l), env: { SIGNOFF_URL: base, SIGNOFF_TOKEN: 't' }, cwd: process.cwd() });
    return { code, errors };
  };

  it('name the job\'s tenant with --tenant (before or after the job id), and leave it to the API without', async () => {
    expect((await run('approvals', 'approve', 'j/1', '--tenant', 'acme', '--reason', 'ok')).code).toBe(0);
    expect((await run('approvals', 'reject', '--tenant', 'globex', 'j1', '--reason', 'no')).code).toBe(0);
    expect((await run('approvals', 'show', 'j1', '--tenant', 'acme')).code).toBe(0);
    expect((await run('approvals', 'list', '--tenant', 'acme', '--topic', 'finance.*')).code).toBe(0);
    expect((await run('approvals', 'approve', 'j1')).code).toBe(0);
    expect(seen.map((r) => [r.method, r.url])).toEqual([
      ['POST', '/api/v1/approvals/j%2F1/approve?tenant=acme'],
      ['POST', '/api/v1/approvals/j1/reject?tenant=globex'],
      ['GET', '/api/v1/approvals/j1?tenant=acme'],
      ['GET', '/api/v1/approvals?state=pending&topic=finance.*&tenant=acme'],
      ['POST', '/api/v1/approvals/j1/approve'],
    ]);
    expect(JSON.parse(seen[1]!.body)).toEqual({ reason: 'no' });
    expect((await run('approvals', 'reject', 'j1', '--tenant', 'acme')).code).toBe(2);
  });
});
