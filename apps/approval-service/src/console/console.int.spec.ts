import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { openSse } from '../testing/sse.client';
import { ActivePolicy } from '@signoff/core';
import { POLICY_V3_STRICTER_PAYMENTS, writePolicyFile } from '../testing/test-policies';

interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A browser-like client of the console: keeps its cookies, never follows redirects. */
class ConsoleClient {
  readonly cookies = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(method: 'GET' | 'POST', path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (value) this.cookies.set(name, value);
      else this.cookies.delete(name);
    }
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  get(path: string) {
    return this.request('GET', path);
  }
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request('POST', path, form, { origin: this.base, 'sec-fetch-site': 'same-origin', ...headers });
  }

  static async signedIn(base: string, authorization: string): Promise<ConsoleClient> {
    const client = new ConsoleClient(base);
    const form = await client.get('/console/sign-in');
    const res = await client.post('/console/sign-in', { csrf: csrfOf(form.text), token: authorization.replace(/^Bearer /, '') });
    expect(res.status).toBe(303);
    return client;
  }
}

const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
const hidden = (html: string, name: string): string => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? '';
const flashCode = (html: string): string | null => /class="flash flash-\w+" data-code="([^"]*)"/.exec(html)?.[1] ?? null;

describe('the reviewer console (/console) on a real Nest app and real PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  const approvalOf = async (jobId: string, tenant: string) => (await call(svc.url, 'GET', `/approvals/${jobId}?tenant=${tenant}`, await bearer('root', ['admin'])));

  beforeAll(async () => {
    db = await createTestDatabase('console');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), approval: { sseHeartbeatMs: 200 } });
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('signs in with a pasted token into an HttpOnly, SameSite=Strict cookie of /console that expires with the token; refuses bad tokens, missing CSRF and tokens without a console role', async () => {
    const anonymous = new ConsoleClient(svc.url);
    const inbox = await anonymous.get('/console');
    expect(inbox.status).toBe(303);
    expect(inbox.headers.get('location')).toBe('/console/sign-in');

    const form = await anonymous.get('/console/sign-in');
    expect(form.status).toBe(200);
    expect(form.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(form.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(form.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(form.headers.get('x-content-type-options')).toBe('nosniff');
    expect(form.headers.get('referrer-policy')).toBe('no-referrer');
    expect(form.text).toContain('<label for="token">');
    expect(form.text).not.toMatch(/<script>(?!<\/script>)/);
    const csrf = csrfOf(form.text);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const noCsrf = await anonymous.post('/console/sign-in', { token: (await bearer('wes', ['reviewer'])).slice(7) });
    expect(noCsrf.status).toBe(403);
    expect(flashCode(noCsrf.text)).toBe('csrf_token_invalid');

    const badToken = await anonymous.post('/console/sign-in', { csrf: csrfOf(noCsrf.text), token: 'not-a-token' });
    expect(badToken.status).toBe(401);
    expect(flashCode(badToken.text)).toBe('unauthenticated');
    expect(badToken.text).not.toContain('not-a-token');

    const submitter = await anonymous.post('/console/sign-in', { csrf: csrfOf(badToken.text), token: (await bearer('agent-7', ['submitter'])).slice(7) });
    expect(submitter.status).toBe(403);
    expect(flashCode(submitter.text)).toBe('console_role_required');
    expect(anonymous.cookies.has('signoff_console')).toBe(false);

    const token = (await bearer('wes', ['reviewer'])).slice(7);
    const ok = await anonymous.post('/console/sign-in', { csrf: csrfOf(submitter.text), token: `Bearer ${token}` });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/console');
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('signoff_console='))!;
    expect(cookie).toContain(`signoff_console=${token}`);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/console');
    expect(cookie).not.toContain('Secure'); // plain http here; Secure on https
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(12 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);

    const signedIn = await anonymous.get('/console');
    expect(signedIn.status).toBe(200);
    expect(signedIn.text).toContain('Signed in as <strong>wes</strong>');

    // Sign-out is a POST with the session's CSRF token; the cookie is cleared.
    const refusedOut = await anonymous.post('/console/sign-out', { csrf: 'wrong' });
    expect(refusedOut.status).toBe(403);
    const out = await anonymous.post('/console/sign-out', { csrf: csrfOf(signedIn.text) });
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().some((c) => c.startsWith('signoff_console=;') && c.includes('Max-Age=0'))).toBe(true);
    expect((await anonymous.get('/console')).status).toBe(303);

    // A forged cookie is no session.
    const forged = new ConsoleClient(svc.url);
    forged.cookies.set('signoff_console', `${token.slice(0, -4)}AAAA`);
    expect((await forged.get('/console')).status).toBe(303);
  });

  it('shows a tenant reviewer its pending approvals and a reviewer of another tenant or other topics nothing (list, detail, stream)', async () => {
    const tenant = `con-${randomUUID().slice(0, 8)}`;
    const job = await submitJob(svc.app, paymentJob({ tenant, payload: { amount: 99, memo: '<script>alert(1)</script> "quoted" \'single\' `tick`' } }));
    const wes = await ConsoleClient.signedIn(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    const otto = await ConsoleClient.signedIn(svc.url, await bearer('otto', ['reviewer'], { tenants: ['somebody-else'] }));
    const tina = await ConsoleClient.signedIn(svc.url, await bearer('tina', ['reviewer'], { tenants: [tenant], topics: ['customer.*'] }));

    await eventually(async () => (await wes.get('/console')).text.includes(job.job_id), 'the job in the inbox');
    const inbox = await wes.get('/console');
    expect(inbox.text).toContain('0 of 1');
    expect(inbox.text).toContain('require-approval-prod-finance');
    expect((await otto.get('/console')).text).not.toContain(job.job_id);
    expect((await tina.get('/console')).text).not.toContain(job.job_id);

    const detail = await wes.get(`/console/approvals/${job.job_id}?tenant=${tenant}`);
    expect(detail.status).toBe(200);
    // Every value escaped (NUL and lone surrogates never reach the store: see console-html.unit.spec.ts).
    // The payload is pretty-printed JSON (its quotes JSON-escaped), then HTML-escaped.
    expect(detail.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; \\&quot;quoted\\&quot; &#39;single&#39; &#96;tick&#96;');
    expect(detail.text).not.toContain('<script>alert(1)');
    expect(detail.text).toContain('JobSubmitted');
    expect(detail.text).toContain('ApprovalRequested');
    expect(hidden(detail.text, 'policy_snapshot')).toMatch(/^sha256:/);

    const outsider = await otto.get(`/console/approvals/${job.job_id}?tenant=${tenant}`);
    expect(outsider.status).toBe(404);
    expect(flashCode(outsider.text)).toBe('not_found');
    expect(outsider.text).not.toContain('amount');
    expect((await tina.get(`/console/approvals/${job.job_id}?tenant=${tenant}`)).status).toBe(404);

    // The inbox's stream is authenticated by the cookie and filtered like the API's.
    const cookieOf = (c: ConsoleClient) => ({ cookie: `signoff_console=${c.cookies.get('signoff_console')}` });
    const mine = await openSse(svc.url, null, { path: '/console/stream', headers: cookieOf(wes) });
    const theirs = await openSse(svc.url, null, { path: '/console/stream', headers: cookieOf(otto) });
    const none = await openSse(svc.url, null, { path: '/console/stream' });
    try {
      expect(mine.status).toBe(200);
      expect(mine.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(mine.headers['content-security-policy']).toContain("default-src 'none'");
      expect(none.status).toBe(401);
      const second = await submitJob(svc.app, paymentJob({ tenant }));
      await eventually(() => mine.events.some((e) => (e.data.approval as { job_id: string }).job_id === second.job_id), 'the live change');
      await new Promise((r) => setTimeout(r, 300));
      expect(theirs.events).toEqual([]);
    } finally {
      mine.close();
      theirs.close();
      none.close();
    }
  });

  it('filters the inbox by topic, tenant, rule, drifted and expiring soon, and pages with a cursor', async () => {
    const tenant = `flt-${randomUUID().slice(0, 8)}`;
    const payment = await submitJob(svc.app, paymentJob({ tenant }));
    const notify = await submitJob(svc.app, { topic: 'customer.notify', tenant, payload: { to: 'x' } });
    const wes = await ConsoleClient.signedIn(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant, 'other'] }));
    await eventually(async () => (await wes.get('/console')).text.includes(notify.job_id), 'both listed');
    const has = async (query: string) => {
      const page = await wes.get(`/console?${query}`);
      expect(page.status, query).toBe(200);
      return [page.text.includes(payment.job_id), page.text.includes(notify.job_id)];
    };
    expect(await has('topic=finance.*')).toEqual([true, false]);
    expect(await has(`tenant=${tenant}`)).toEqual([true, true]);
    expect(await has('tenant=other')).toEqual([false, false]);
    expect(await has('rule=external-notify')).toEqual([false, true]);
    expect(await has('drifted=true')).toEqual([false, false]);
    expect(await has('drifted=false')).toEqual([true, true]);
    // customer.notify expires in 30 min, payments in 1 h.
    expect(await has('expires_within=2400')).toEqual([false, true]);
    expect(await has('expires_within=86400')).toEqual([true, true]);
    const bad = await wes.get('/console?expires_within=forever');
    expect(bad.status).toBe(400);
    expect(flashCode(bad.text)).toBe('invalid_request');

    // The API takes the same filters.
    const api = await call(svc.url, 'GET', `/approvals?tenant=${tenant}&rule=external-notify`, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    expect((api.body.items as { job_id: string }[]).map((i) => i.job_id)).toEqual([notify.job_id]);

    for (let i = 0; i < 51; i += 1) await submitJob(svc.app, { topic: 'customer.notify', tenant, payload: { i } });
    await eventually(async () => (await wes.get(`/console?tenant=${tenant}`)).text.includes('Next page'), 'a second page');
    const first = await wes.get(`/console?tenant=${tenant}`);
    const next = /class="next" href="([^"]+)"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    const second = await wes.get(next);
    expect(second.status).toBe(200);
    expect((second.text.match(/<tr id="row-/g) ?? []).length).toBe(3);
  });

  it('decides only by POST with the session CSRF token from the same site; a GET never decides', async () => {
    const tenant = `csrf-${randomUUID().slice(0, 8)}`;
    const job = await submitJob(svc.app, paymentJob({ tenant }));
    const wes = await ConsoleClient.signedIn(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    const path = `/console/approvals/${job.job_id}?tenant=${tenant}`;
    const approvePath = `/console/approvals/${job.job_id}/approve?tenant=${tenant}`;
    const page = await wes.get(path);
    const fields = { policy_snapshot: hidden(page.text, 'policy_snapshot'), job_hash: hidden(page.text, 'job_hash') };
    const csrf = csrfOf(page.text);

    // Link scanners and unfurlers: GETs of every decision URL (and of the page with ?done=) change nothing.
    for (const url of [approvePath, `/console/approvals/${job.job_id}/reject?tenant=${tenant}`, `${path}&done=approved`]) await wes.get(url);
    expect((await wes.get(approvePath)).status).toBe(404);

    const refusals: [Record<string, string>, Record<string, string>, string][] = [
      [{ ...fields }, {}, 'csrf_token_invalid'],
      [{ ...fields, csrf: 'A'.repeat(43) }, {}, 'csrf_token_invalid'],
      [{ ...fields, csrf }, { origin: 'https://evil.example' }, 'cross_site_request'],
      [{ ...fields, csrf }, { origin: 'null', 'sec-fetch-site': 'cross-site' }, 'cross_site_request'],
      [{ ...fields }, { origin: 'null' }, 'csrf_token_invalid'],
      [{ ...fields, csrf }, { 'sec-fetch-site': 'cross-site' }, 'cross_site_request'],
      [{ ...fields, csrf }, { 'sec-fetch-site': 'same-site' }, 'cross_site_request'],
    ];
    for (const [form, headers, code] of refusals) {
      const res = await wes.post(approvePath, form, headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(flashCode(res.text)).toBe(code);
    }
    // Another session's token does not do either.
    const rita = await ConsoleClient.signedIn(svc.url, await bearer('rita', ['reviewer'], { tenants: [tenant] }));
    expect((await rita.post(approvePath, { ...fields, csrf })).status).toBe(403);
    // Without a session at all.
    expect((await new ConsoleClient(svc.url).post(approvePath, { ...fields, csrf })).status).toBe(401);
    expect((await approvalOf(job.job_id, tenant)).body).toMatchObject({ state: 'pending', approvals: 0 });

    const approved = await wes.post(approvePath, { ...fields, csrf, reason: 'checked the invoice' });
    expect(approved.status).toBe(303);
    expect(approved.headers.get('location')).toBe(`${path}&done=approved`);
    expect((await approvalOf(job.job_id, tenant)).body).toMatchObject({ state: 'approved', approved_by: ['wes'] });
    const after = await wes.get(approved.headers.get('location')!);
    expect(flashCode(after.text)).toBe('approved');
    expect(after.text).toContain('ApprovalGranted');
    expect(after.text).toContain('checked the invoice');
    expect(after.text).not.toContain('id="approve-form"');
  });

  it('shows every refusal of the API as a sentence: stale_review (evidence reloaded), a rejection without reason, self-approval, an approve after a rejection, a role without reviewer', async () => {
    const tenant = `ref-${randomUUID().slice(0, 8)}`;
    const job = await submitJob(svc.app, paymentJob({ tenant, submitted_by: 'wes' }));
    const other = await submitJob(svc.app, paymentJob({ tenant }));
    const wes = await ConsoleClient.signedIn(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    const rita = await ConsoleClient.signedIn(svc.url, await bearer('rita', ['reviewer'], { tenants: [tenant] }));
    const aud = await ConsoleClient.signedIn(svc.url, await bearer('aud', ['auditor'], { tenants: [tenant] }));
    const pagePath = (id: string) => `/console/approvals/${id}?tenant=${tenant}`;
    const act = (id: string, verb: string) => `/console/approvals/${id}/${verb}?tenant=${tenant}`;

    const page = await rita.get(pagePath(other.job_id));
    const fields = { policy_snapshot: hidden(page.text, 'policy_snapshot'), job_hash: hidden(page.text, 'job_hash'), csrf: csrfOf(page.text) };
    // What the page showed is not what the approval is bound to (here: a tampered hidden field).
    const stale = await rita.post(act(other.job_id, 'approve'), { ...fields, job_hash: `sha256:${'0'.repeat(64)}` });
    expect(stale.status).toBe(409);
    expect(flashCode(stale.text)).toBe('stale_review');
    expect(stale.text).toContain('review it again');
    expect(stale.text).toContain('id="approve-form"'); // the evidence and the forms again
    expect(stale.text).not.toContain('{"');

    const noReason = await rita.post(act(other.job_id, 'reject'), { csrf: fields.csrf, reason: '   ' });
    expect(noReason.status).toBe(400);
    expect(flashCode(noReason.text)).toBe('invalid_request');
    expect(noReason.text).toContain('reason');

    const tooLong = await rita.post(act(other.job_id, 'reject'), { csrf: fields.csrf, reason: 'x'.repeat(2001) });
    expect(tooLong.status).toBe(400);
    expect(flashCode(tooLong.text)).toBe('invalid_request');
    // A body that is not a form reads as empty: no CSRF token, refused before anything is decided.
    const asJson = await fetch(`${svc.url}${act(other.job_id, 'reject')}`, {
      method: 'POST',
      headers: { cookie: `signoff_console=${rita.cookies.get('signoff_console')}`, 'content-type': 'text/plain' },
      body: `csrf=${fields.csrf}&reason=x`,
    });
    expect(asJson.status).toBe(403);

    const self = await wes.get(pagePath(job.job_id));
    const selfRes = await wes.post(act(job.job_id, 'approve'), { policy_snapshot: hidden(self.text, 'policy_snapshot'), job_hash: hidden(self.text, 'job_hash'), csrf: csrfOf(self.text) });
    expect(selfRes.status).toBe(403);
    expect(flashCode(selfRes.text)).toBe('self_approval_forbidden');
    expect(selfRes.text).toContain('you may not decide on it yourself');

    const rejected = await rita.post(act(other.job_id, 'reject'), { csrf: fields.csrf, reason: 'amount <b>too</b> high' });
    expect(rejected.status).toBe(303);
    const shown = await rita.get(rejected.headers.get('location')!);
    expect(flashCode(shown.text)).toBe('rejected');
    expect(shown.text).toContain('amount &lt;b&gt;too&lt;/b&gt; high');
    const late = await rita.post(act(other.job_id, 'approve'), fields);
    expect(late.status).toBe(409);
    expect(flashCode(late.text)).toBe('already_rejected');

    const auditorPage = await aud.get(pagePath(job.job_id));
    expect(auditorPage.status).toBe(200);
    expect(auditorPage.text).not.toContain('id="approve-form"');
    const auditorRes = await aud.post(act(job.job_id, 'approve'), { csrf: csrfOf(auditorPage.text), policy_snapshot: hidden(self.text, 'policy_snapshot'), job_hash: hidden(self.text, 'job_hash') });
    expect(auditorRes.status).toBe(403);
    expect(flashCode(auditorRes.text)).toBe('forbidden');
  });

  it('serves its script and stylesheet with the security headers; nothing else under assets', async () => {
    const client = new ConsoleClient(svc.url);
    const js = await client.get('/console/assets/console.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.text).toContain('EventSource');
    expect((await client.get('/console/assets/console.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await client.get('/console/assets/..%2Fconsole.http.controller.ts')).status).toBe(404);
    expect((await client.get('/console/assets/x.js')).status).toBe(404);
  });

  // Last: it changes the active policy of this app.
  it('shows a drifted approval with what changed in the policy and this job\'s outcome under both; the drifted filter finds it; approving is snapshot_changed', async () => {
    const tenant = `drift-${randomUUID().slice(0, 8)}`;
    const job = await submitJob(svc.app, paymentJob({ tenant }));
    const wes = await ConsoleClient.signedIn(svc.url, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    await eventually(async () => (await wes.get('/console')).text.includes(job.job_id), 'listed');
    const before = await wes.get(`/console/approvals/${job.job_id}?tenant=${tenant}`);
    expect(before.text).not.toContain('id="drift-h"');
    await svc.app.get(ActivePolicy).activate(POLICY_V3_STRICTER_PAYMENTS, 'root');
    await eventually(async () => (await wes.get('/console?drifted=true')).text.includes(job.job_id), 'listed as drifted');
    const after = await wes.get(`/console/approvals/${job.job_id}?tenant=${tenant}`);
    expect(after.text).toContain('id="drift-h"');
    expect(after.text).toContain('rule require-approval-prod-finance changed (approval)');
    expect(after.text).toMatch(/this job<\/strong>: require_human \(rule require-approval-prod-finance; 1 reviewer; timeout 60 min\) → require_human \(rule require-approval-prod-finance; 2 reviewers; timeout 60 min\)/);
    const refused = await wes.post(`/console/approvals/${job.job_id}/approve?tenant=${tenant}`, {
      csrf: csrfOf(before.text),
      policy_snapshot: hidden(before.text, 'policy_snapshot'),
      job_hash: hidden(before.text, 'job_hash'),
    });
    expect(refused.status).toBe(409);
    expect(flashCode(refused.text)).toBe('snapshot_changed');
    // The API's answer is unchanged: policy_change only when asked for.
    const api = await call(svc.url, 'GET', `/approvals/${job.job_id}?tenant=${tenant}`, await bearer('wes', ['reviewer'], { tenants: [tenant] }));
    expect(api.body.drifted).toBe(true);
    expect(api.body).not.toHaveProperty('policy_change');
  });
});
