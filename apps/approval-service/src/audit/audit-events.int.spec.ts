import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningKeySet } from '@signoff/keys';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

interface Page {
  items: Array<{ id: string; type: string; actor: string; tenant?: string; subject: string; data: { request?: { payload: Record<string, unknown> } } }>;
  next_cursor: string | null;
  tree_head: { tree_size: number } | null;
}

describe('GET /audit/events on PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let auditor: string;
  const jobs: Record<string, string> = {};

  beforeAll(async () => {
    db = await createTestDatabase('auditevents');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), signingKeys: SigningKeySet.generate(), env: { AUDIT_REDACT_FIELDS: 'payload.amount' } });
    auditor = await bearer('ada', ['auditor']);
    const rita = await bearer('rita', ['reviewer']);
    const sam = await bearer('sam', ['reviewer']);
    jobs.granted = (await submitJob(svc.app, paymentJob())).job_id;
    jobs.rejected = (await submitJob(svc.app, paymentJob())).job_id;
    jobs.acme = (await submitJob(svc.app, paymentJob({ tenant: 'acme' }))).job_id;
    expect((await call(svc.url, 'POST', `/approvals/${jobs.granted}/approve`, rita, {})).status).toBe(200);
    expect((await call(svc.url, 'POST', `/approvals/${jobs.rejected}/reject`, sam, { reason: 'no invoice' })).status).toBe(200);
    expect((await call(svc.url, 'POST', `/approvals/${jobs.acme}/approve?tenant=acme`, rita, {})).status).toBe(200);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  const get = async (query: string, token = auditor) => call(svc.url, 'GET', `/audit/events${query}`, token);

  it('answers the filters in log order, redacted like the audit stream, with the tree head', async () => {
    const granted = await get('?decision=granted');
    expect(granted.status).toBe(200);
    const page = granted.body as unknown as Page;
    expect(page.items.map((e) => [e.type, e.subject, e.tenant])).toEqual([
      ['signoff.approval.granted', jobs.granted, 'default'],
      ['signoff.approval.granted', jobs.acme, 'acme'],
    ]);
    expect(page.next_cursor).toBeNull();
    expect(page.tree_head?.tree_size).toEqual(expect.any(Number));
    const bySam = (await get('?actor=sam')).body as unknown as Page;
    expect(bySam.items.map((e) => e.type)).toEqual(['signoff.approval.rejected']);
    const acme = (await get('?tenant=acme&topic=finance.*')).body as unknown as Page;
    expect(new Set(acme.items.map((e) => e.subject))).toEqual(new Set([jobs.acme]));
    const submitted = acme.items.find((e) => e.type === 'signoff.job.submitted')!;
    expect(submitted.data.request!.payload.amount).toBe('[REDACTED]');
    expect((await get('?topic=customer.*')).body.items).toEqual([]);
    expect((await get('?from=2999-01-01')).body.items).toEqual([]);
    expect(((await get('?from=2000-01-01&to=2999-01-01&decision=rejected')).body as unknown as Page).items).toHaveLength(1);
  });

  it('pages with a cursor through everything, and scopes a tenant auditor to its tenant', async () => {
    const all = (await get('?limit=1000')).body as unknown as Page;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await get(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body as unknown as Page;
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((e) => e.id));
    const scoped = (await get('', await bearer('aki', ['auditor'], { tenants: ['acme'] }))).body as unknown as Page;
    expect(scoped.items.length).toBeGreaterThan(0);
    expect(scoped.items.every((e) => e.tenant === 'acme')).toBe(true);
    expect((await get('', await bearer('rita', ['reviewer']))).status).toBe(403);
  });

  it('refuses hostile filters with 400 and a stable code', async () => {
    const cases: Array<[string, string]> = [
      ['?decision=bogus', 'invalid_audit_filter'],
      ['?from=yesterday', 'invalid_audit_filter'],
      ['?from=2026-02-01&to=2026-01-01', 'invalid_audit_filter'],
      ['?actor=a&actor=b', 'invalid_audit_filter'],
      [`?actor=${'x'.repeat(300)}`, 'invalid_audit_filter'],
      ['?actor=%00', 'invalid_audit_filter'],
      ['?limit=0', 'invalid_audit_filter'],
      ['?limit=abc', 'invalid_audit_filter'],
      ['?cursor=not-a-cursor', 'invalid_cursor'],
      [`?cursor=${Buffer.from(JSON.stringify({ p: '99999999' })).toString('base64url')}`, 'invalid_cursor'],
      ['?cursor=%27%3B--', 'invalid_cursor'],
    ];
    for (const [query, code] of cases) {
      const answer = await get(query);
      expect([query, answer.status, answer.body.code]).toEqual([query, 400, code]);
    }
  });
});
