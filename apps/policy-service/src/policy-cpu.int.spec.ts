import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_STREAM, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { authHeader, startTestApp, testConfig } from '../../../test/support/app';
import { createTestDatabase } from '../../../test/support/infra';
import { PolicyServiceModule } from './app.module';
import { abString, withLiveness } from '../../../test/support/cpu';

type Started = Awaited<ReturnType<typeof startTestApp>>;

/**
 * Issue 10, section 4, on the real policy service (Fastify, PostgreSQL): no policy and no request
 * may hold the event loop. `/health/live` is asked 20 ms into every slow-looking request.
 */
describe('policy evaluation cannot take the CPU (policy service on real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: Started;
  let submitter: Record<string, string>;
  let admin: Record<string, string>;

  const putPolicy = (body: string, type = 'application/yaml') => fetch(`${svc.url}/api/v1/policy`, { method: 'PUT', headers: { 'content-type': type, ...admin }, body });
  const submit = (body: unknown) => fetch(`${svc.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...submitter }, body: JSON.stringify(body) });
  const stored = async (jobId: string) => (await svc.app.get(EventStore).readStream(toJobStreamId(jobId))).map((e) => e.type);

  beforeAll(async () => {
    db = await createTestDatabase('policycpu');
    svc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ EVENT_STORE_URL: db.url, POLICY_PATH: 'policies/default.yaml', POLICY_EVALUATION_BUDGET_MS: '50' })));
    submitter = await authHeader('agent-7', ['submitter']);
    admin = await authHeader('root', ['admin']);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('accepts ^(.*a){8}$ and answers the payloads that stalled the process in milliseconds (RE2)', async () => {
    const policy = 'version: v1\ndefault: allow\nrules:\n  - id: eight-a\n    when: {topic: notes.write, payload.note: {matches: "^(.*a){8}$"}}\n    decision: deny\n';
    expect((await putPolicy(policy)).status).toBe(200);
    // V8's backtracking engine took 3-10 s on 45 characters (on this 2-core machine) and ~45 s on 57.
    for (const [jobId, note, status] of [
      ['note-45', `${'a'.repeat(44)}b`, 202],
      ['note-57', `${'a'.repeat(56)}b`, 202],
      ['note-57-match', 'a'.repeat(57), 403],
    ] as const) {
      const answer = await withLiveness(svc.url, () => submit({ job_id: jobId, topic: 'notes.write', payload: { note } }));
      expect(answer.value.status).toBe(status);
      expect(answer.requestMs).toBeLessThan(1000);
      expect(answer.liveMs).toBeLessThan(1000);
      expect(answer.liveStatus).toBe(200);
    }
  });

  it('refuses patterns RE2 cannot run, with line and column: 400 invalid_policy', async () => {
    const before = (await svc.app.get(EventStore).readStream(POLICY_STREAM)).length;
    for (const pattern of ['(a)\\\\1', '^(?=prod)', '(?<!pre)fix', '(a|b){1000}', 'x'.repeat(1025)]) {
      const res = await putPolicy(`version: v1\nrules:\n  - id: r\n    when: {env: {matches: "${pattern}"}}\n    decision: deny\n`);
      expect(res.status).toBe(400);
      const problem = (await res.json()) as { code: string; errors: { code: string; line: number; column: number; path: string }[] };
      expect(problem.code).toBe('invalid_policy');
      expect(problem.errors).toEqual([expect.objectContaining({ code: 'invalid_regex', line: 4, column: 27, path: 'rules[0].when.env.matches' })]);
    }
    expect((await svc.app.get(EventStore).readStream(POLICY_STREAM)).length).toBe(before);
  });

  it('cuts an evaluation that exceeds its budget: 503 policy_unavailable, nothing stored, the loop free', async () => {
    // 400 rules, each an RE2 test near its work bound (~10-40 ms each): seconds of CPU uncut.
    // (V8 ran these in ~0.5 ms each: old code answered, holding nothing back, but never cut anything.)
    const rules = Array.from({ length: 400 }, (_, i) => `  - {id: r${i}, when: {payload.s: {matches: "a[ab]{200}c"}}, decision: deny}`);
    expect((await putPolicy(`version: v1\ndefault: allow\nrules:\n${rules.join('\n')}\n`)).status).toBe(200);
    const answer = await withLiveness(svc.url, () => submit({ job_id: 'costly-1', topic: 'x.y', payload: { s: `c${abString(1200)}` } }));
    expect(answer.value.status).toBe(503);
    expect(await answer.value.json()).toMatchObject({ code: 'policy_unavailable', reason: 'evaluation_budget_exceeded' });
    expect(await stored('costly-1')).toEqual([]);
    expect(answer.requestMs).toBeLessThan(1000);
    expect(answer.liveMs).toBeLessThan(1000);
    expect(answer.liveStatus).toBe(200);

    // A value longer than a matches condition may read fails closed the same way.
    const tooLong = await submit({ job_id: 'costly-2', topic: 'x.y', payload: { s: 'c'.repeat(2000) } });
    expect(tooLong.status).toBe(503);
    expect(await tooLong.json()).toMatchObject({ code: 'policy_unavailable', reason: 'evaluation_budget_exceeded' });
    expect(await stored('costly-2')).toEqual([]);

    // The dry run is cut the same way.
    const dry = await fetch(`${svc.url}/api/v1/policy/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json', ...submitter }, body: JSON.stringify({ topic: 'x.y', payload: { s: `c${abString(1200)}` } }) });
    expect(dry.status).toBe(503);
  });
});
