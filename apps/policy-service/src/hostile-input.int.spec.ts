import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from '@signoff/event-store';
import { authHeader, startTestApp, testConfig, TEST_JWT_SECRET } from '../../../test/support/app';
import { createTestDatabase } from '../../../test/support/infra';
import { PolicyServiceModule } from './app.module';

/** Text of a database driver that must never reach an answer. */
const SQL_TEXT = /SQLSTATE|syntax|invalid byte sequence|unsupported Unicode escape|22P0[25]/i;

interface Problem {
  code: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  labels?: string[];
}

describe('hostile input on POST /jobs (real PostgreSQL store)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Awaited<ReturnType<typeof startTestApp>>;
  let headers: Record<string, string>;

  /** Posts raw JSON text (so it can hold `\u0000`, `\ud800`, `1e400` exactly as a client sends them). */
  const post = async (text: string, extra: Record<string, string> = headers) => {
    const res = await fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...extra }, body: text });
    const raw = await res.text();
    expect(raw).not.toMatch(SQL_TEXT);
    return { status: res.status, contentType: res.headers.get('content-type'), problem: JSON.parse(raw) as Problem };
  };
  /** How many events the whole log holds (a small test database). */
  const eventCount = async () => (await svc.app.get(EventStore).readAll()).length;

  beforeAll(async () => {
    db = await createTestDatabase('hostile');
    svc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url, POLICY_PATH: 'policies/default.yaml' })));
    headers = await authHeader('agent-7', ['submitter']);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it.each([
    ['a NUL in a nested payload string', '{"topic":"knowledge.read","payload":{"a":{"b":"x\\u0000y"}}}', 'payload.a.b'],
    ['a NUL in a payload key', '{"topic":"knowledge.read","payload":{"a":{"k\\u0000":1}}}', 'payload.a.k\\u0000'],
    ['a lone surrogate in a payload array', '{"topic":"knowledge.read","payload":{"list":["ok","\\ud800"]}}', 'payload.list[1]'],
    ['a lone low surrogate at the top of the payload', '{"topic":"knowledge.read","payload":"\\udfff"}', 'payload'],
    ['a NUL in a label value', '{"topic":"knowledge.read","labels":{"env":"prod\\u0000"}}', 'labels.env'],
    ['a lone surrogate in a label value', '{"topic":"knowledge.read","labels":{"env":"\\ud83d"}}', 'labels.env'],
    ['a NUL in priority', '{"topic":"knowledge.read","priority":"high\\u0000"}', 'priority'],
    ['a NUL in tenant', '{"topic":"knowledge.read","tenant":"acme\\u0000"}', 'tenant'],
    ['a number beyond double range (1e400)', '{"topic":"knowledge.read","payload":{"n":1e400}}', 'payload.n'],
    ['a negative number beyond double range', '{"topic":"knowledge.read","payload":{"deep":{"m":-1e999}}}', 'payload.deep.m'],
    ['a 400-digit number', `{"topic":"knowledge.read","payload":{"n":${'7'.repeat(400)}}}`, 'payload.n'],
  ])('%s is 400 invalid_request naming the field, nothing stored, no SQL text', async (_, text, field) => {
    const before = await eventCount();
    const { status, contentType, problem } = await post(text);
    expect(status).toBe(400);
    expect(contentType).toMatch(/application\/problem\+json/);
    expect(problem.code).toBe('invalid_request');
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect(await eventCount()).toBe(before);
  });

  it('a long but finite digit string is an ordinary number (and a stored job shows in the event count)', async () => {
    const before = await eventCount();
    const { status } = await post(`{"topic":"knowledge.read","payload":{"n":${'9'.repeat(300)},"m":0.${'1'.repeat(500)}}}`);
    expect(status).toBe(202);
    expect(await eventCount()).toBeGreaterThan(before);
  });

  it.each([
    'Approval_granted',
    'APPROVAL_granted',
    'SIGNOFF.x',
    'Signoff.approved',
    '\uff41\uff50\uff50\uff52\uff4f\uff56\uff41\uff4c_granted', // full-width
    'signoff\uff0eapproved', // full-width full stop
    '\u017fignoff.x', // long s (NFKC: s)
  ])('reserved label %j is 400 reserved_label', async (name) => {
    const { status, problem } = await post(JSON.stringify({ topic: 'knowledge.read', labels: { [name]: 'true' } }));
    expect(status).toBe(400);
    expect(problem.code).toBe('reserved_label');
    expect(problem.labels).toEqual([name]);
  });

  it('a token whose sub holds a control character is 401 and records nothing', async () => {
    const before = await eventCount();
    const now = Math.floor(Date.now() / 1000);
    for (const sub of ['agent\nactor: root', 'agent\u000f', 'agent\u0000', 'agent\u202eevil', '\ud800']) {
      const token = await new SignJWT({ roles: ['submitter'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(TEST_JWT_SECRET));
      const { status, problem } = await post('{"topic":"knowledge.read"}', { authorization: `Bearer ${token}` });
      expect(status, JSON.stringify(sub)).toBe(401);
      expect(problem.code).toBe('unauthenticated');
    }
    expect(await eventCount()).toBe(before);
  });

  it('a token without exp or with a future iat is 401', async () => {
    const key = new TextEncoder().encode(TEST_JWT_SECRET);
    const now = Math.floor(Date.now() / 1000);
    const forever = await new SignJWT({ roles: ['submitter'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('agent').sign(key);
    const future = await new SignJWT({ roles: ['submitter'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('agent').setIssuedAt(now + 86_400).setExpirationTime(now + 90_000).sign(key);
    for (const token of [forever, future]) {
      const { status, problem } = await post('{"topic":"knowledge.read"}', { authorization: `Bearer ${token}` });
      expect(status).toBe(401);
      expect(problem.code).toBe('unauthenticated');
    }
  });

  it('a policy bundle holding a NUL is refused with a 4xx, never a 503 with SQL text', async () => {
    const admin = await authHeader('root', ['admin']);
    const bundle = { version: 'v1', default: 'deny', rules: [{ id: 'nul', when: { topic: `x\u0000${randomUUID()}` }, decision: 'allow' }] };
    const res = await fetch(`${svc.url}/api/v1/policy`, { method: 'PUT', headers: { 'content-type': 'application/json', ...admin }, body: JSON.stringify(bundle) });
    const text = await res.text();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(text).not.toMatch(SQL_TEXT);
  });

  it('framework refusals of the real service are problem+json too (bad percent escape, 414)', async () => {
    const bad = await fetch(`${svc.url}/api/v1/jobs/%E0%A4%A`, { headers });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await bad.json()) as Problem).code).toBe('invalid_request');
    const long = await fetch(`${svc.url}/api/v1/jobs/${'j'.repeat(3000)}`, { headers });
    expect(long.status).toBe(414);
    expect(((await long.json()) as Problem).code).toBe('uri_too_long');
  });
});
