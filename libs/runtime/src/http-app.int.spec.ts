import { Body, Controller, Get, Module, Param, Post } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@signoff/contracts';
import { JsonLogger } from '@signoff/observability';
import { rawHttp } from '../../../test/support/raw-http';
import { createHttpApp, listen } from './http-app';

@Controller('things')
class ThingsController {
  @Get(':id')
  get(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post()
  create(@Body() body: unknown): unknown {
    return body;
  }
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

/** Every refusal is RFC 9457 problem+json with a known `code` whose status is the answer's. */
function expectProblem(status: number, contentType: string | null | undefined, body: string, code: string): void {
  expect(contentType ?? '').toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(body) as { status: number; code: string; detail?: string };
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(status);
  expect(ERROR_CODES[problem.code as keyof typeof ERROR_CODES]).toBe(status);
}

describe('framework refusals on the production HTTP bootstrap (createHttpApp) are problem+json', () => {
  let app: Awaited<ReturnType<typeof createHttpApp>>;
  let url: string;

  beforeAll(async () => {
    app = await createHttpApp(ThingsModule, { service: 'http-app-test', logger: new JsonLogger('http-app-test', 'error'), bodyLimit: 1024 });
    url = await listen(app, 0, '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('431 headers_too_large from the HTTP parser (clientError), before any routing', async () => {
    const res = await rawHttp(url, `GET /api/v1/things/x HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
    expectProblem(431, res.headers['content-type'], res.body, 'headers_too_large');
    // A very long URL counts against the same limit.
    const longUrl = await fetch(`${url}/api/v1/things/${'a'.repeat(20_000)}`);
    expect(longUrl.status).toBe(431);
    expectProblem(431, longUrl.headers.get('content-type'), await longUrl.text(), 'headers_too_large');
  });

  it('400 invalid_request for bytes that are not HTTP/1.1 (clientError)', async () => {
    for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n', 'GET /\u0000 HTTP/1.1\r\n\r\n']) {
      const res = await rawHttp(url, garbage);
      expect(res.status, JSON.stringify(garbage)).toBe(400);
      expectProblem(400, res.headers['content-type'], res.body, 'invalid_request');
    }
  });

  it('414 uri_too_long for a route parameter over maxParamLength (router, frameworkErrors)', async () => {
    const res = await fetch(`${url}/api/v1/things/${'p'.repeat(3000)}`);
    expect(res.status).toBe(414);
    expectProblem(414, res.headers.get('content-type'), await res.text(), 'uri_too_long');
    // 200 characters (the longest job id) still route.
    expect((await fetch(`${url}/api/v1/things/${'p'.repeat(200)}`)).status).toBe(200);
  });

  it('400 invalid_request for a malformed URL (an invalid percent escape), echoing nothing of it', async () => {
    const res = await rawHttp(url, 'GET /api/v1/things/%E0%A4%A HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(400);
    expectProblem(400, res.headers['content-type'], res.body, 'invalid_request');
    expect(res.body).not.toContain('%E0');
  });

  it('400 for malformed JSON, 415 unsupported_media_type, 413 payload_too_large, 404 not_found', async () => {
    const post = (body: string, contentType: string) => fetch(`${url}/api/v1/things`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const malformed = await post('{"a": ', 'application/json');
    expect(malformed.status).toBe(400);
    expectProblem(400, malformed.headers.get('content-type'), await malformed.text(), 'invalid_request');
    const xml = await post('<a/>', 'application/xml');
    expect(xml.status).toBe(415);
    expectProblem(415, xml.headers.get('content-type'), await xml.text(), 'unsupported_media_type');
    const big = await post(JSON.stringify({ a: 'x'.repeat(4096) }), 'application/json');
    expect(big.status).toBe(413);
    expectProblem(413, big.headers.get('content-type'), await big.text(), 'payload_too_large');
    for (const path of ['/nowhere', '/api/v1/nowhere']) {
      const missing = await fetch(`${url}${path}`);
      expect(missing.status).toBe(404);
      expectProblem(404, missing.headers.get('content-type'), await missing.text(), 'not_found');
    }
  });

  it('the server keeps answering after all of that', async () => {
    const res = await fetch(`${url}/api/v1/things/ok`);
    expect(await res.json()).toEqual({ id: 'ok' });
  });
});
