import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, toJobStreamId } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { ConsoleClient, consoleCsrfOf, consoleFlashCode, consoleFlashText, consoleHidden, htmlDecode } from '../testing/console.client';
import { submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

/*
 * The console's edit before approve, delegation and escalation views (issue 12 sections 1, 4, 5)
 * on the real approval service and PostgreSQL: the forms send the API's ApproveCommand /
 * RejectCommand with `amended_request` and `on_behalf_of`; refusals are sentences.
 */
const POLICY = `
version: v1
default: deny
rules:
  - id: deny-sanctioned
    description: no payments to sanctioned countries
    when: {topic: finance.payment.execute, payload.beneficiary.country: {in: [KP]}}
    decision: deny
  - id: board-payments
    when: {topic: finance.payment.execute, payload.amount: {gt: 100000}}
    decision: require_human
    approval: {required: 3, timeout: 1h}
  - id: payments
    when: {topic: finance.payment.execute}
    decision: require_human
    approval: {required: 2, timeout: 1h}
`;

const PAYMENT = { amount: 1250, currency: 'EUR', beneficiary: { name: 'ACME GmbH', country: 'DE' } };

describe('the console approves with changes, on behalf of, and shows the versions (real Nest app, real PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let events: (jobId: string) => Promise<JobEvent[]>;
  const payment = () => submitJob(svc.app, { topic: 'finance.payment.execute', labels: { env: 'production' }, payload: PAYMENT });
  const pagePath = (id: string) => `/console/approvals/${id}?tenant=default`;
  const approvePath = (id: string) => `/console/approvals/${id}/approve?tenant=default`;
  /** The approve form's fields as the page rendered them. */
  const reviewed = (html: string) => ({ csrf: consoleCsrfOf(html), policy_snapshot: consoleHidden(html, 'policy_snapshot'), job_hash: consoleHidden(html, 'job_hash') });

  beforeAll(async () => {
    db = await createTestDatabase('console_amend');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(POLICY) });
    events = async (jobId) =>
      (await svc.app.get(EventStore).readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId }))).map(({ type, data, metadata }) => ({ type, data, metadata }) as JobEvent);
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('approve with changes records JobAmendmentProposed and the vote; the page shows the version, its diff and votes; a second reviewer approves this version and the grant binds it', async () => {
    const job = await payment();
    const rita = await ConsoleClient.signedIn(svc.url, await bearer('rita', ['reviewer']));
    const sam = await ConsoleClient.signedIn(svc.url, await bearer('sam', ['reviewer']));
    const page = await rita.get(pagePath(job.job_id));
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="amend-form"');
    // The edit form starts from the request: pretty JSON and label lines.
    const shownPayload = htmlDecode(/<textarea id="amend-payload"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.text)![1]!);
    expect(JSON.parse(shownPayload)).toEqual(PAYMENT);
    expect(/<textarea id="amend-labels"[^>]*>([\s\S]*?)<\/textarea>/.exec(page.text)![1]).toBe('env=production');

    const edited = shownPayload.replace('"amount": 1250', '"amount": 900');
    const res = await rita.post(approvePath(job.job_id), { ...reviewed(page.text), amended_payload: edited, amended_labels: 'env=production', reason: 'only 900 are due' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${pagePath(job.job_id)}&done=approval_recorded`);
    const stored = await events(job.job_id);
    expect(stored.map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested', 'JobAmendmentProposed', 'ApprovalVoteRecorded']);
    const amendmentHash = (stored[3]!.data as { amendment_hash: string }).amendment_hash;
    expect(stored[3]!.data).toMatchObject({ changed_paths: ['payload.amount'], proposed_by: 'rita', request: { payload: { ...PAYMENT, amount: 900 } } });
    expect(stored[4]!.data).toMatchObject({ reviewer: 'rita', approved_job_hash: amendmentHash, reason: 'only 900 are due' });

    const after = await sam.get(pagePath(job.job_id));
    expect(after.text).toContain('id="amendments"');
    expect(after.text).toContain(`data-job-hash="${amendmentHash}"`);
    expect(after.text).toContain('Proposed by <strong>rita</strong>');
    expect(after.text).toContain('<code>payload.amount</code></th><td class="before"><code>1250</code></td><td class="after"><code>900</code></td>');
    expect(after.text).toContain('Votes: <strong>1 of 2</strong> (voted: rita)');
    // The original has no votes; the quorum line says versions do not add up.
    expect(after.text).toMatch(/id="quorum">0 of 2/);
    expect(after.text).toContain('Votes for different versions do not add up');
    expect(after.text).toContain('JobAmendmentProposed');

    // "Approve this version": the same amended request, from the page's hidden field.
    const version = /<form method="post" action="[^"]+" class="vote-version">([\s\S]*?)<\/form>/.exec(after.text)![1]!;
    const granted = await sam.post(approvePath(job.job_id), { ...reviewed(after.text), amended_request: htmlDecode(consoleHidden(version, 'amended_request')) });
    expect(granted.status).toBe(303);
    expect(granted.headers.get('location')).toContain('done=approved');
    expect((await events(job.job_id)).map((e) => e.type).slice(-2)).toEqual(['ApprovalVoteRecorded', 'ApprovalGranted']);
    const api = await call(svc.url, 'GET', `/approvals/${job.job_id}`, await bearer('root', ['admin']));
    expect(api.body).toMatchObject({ state: 'approved', approved_job_hash: amendmentHash, amendments: [{ job_hash: amendmentHash, approvals: 2, voters: ['rita', 'sam'] }] });
    const done = await sam.get(granted.headers.get('location')!);
    expect(consoleFlashCode(done.text)).toBe('approved');
    expect(done.text).toContain('id="approved-version"');
    expect(done.text).toContain(`the edited version 2, not the original: <code>${amendmentHash}</code>`);
    expect(done.text).not.toContain('Approve this version');
    expect(done.text).not.toContain('id="amend-form"');
  });

  it('refuses invalid JSON and bad label lines with a sentence (400), a denied edit with amendment_denied and the rule, a stricter one with amendment_needs_new_approval; nothing recorded', async () => {
    const job = await payment();
    const rita = await ConsoleClient.signedIn(svc.url, await bearer('rita', ['reviewer']));
    const page = await rita.get(pagePath(job.job_id));
    const fields = reviewed(page.text);

    const badJson = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: '{"amount": 900,\n "memo": <script>}', amended_labels: 'env=production' });
    expect(badJson.status).toBe(400);
    expect(consoleFlashCode(badJson.text)).toBe('invalid_request');
    expect(consoleFlashText(badJson.text)).toContain('The form was not filled in correctly. payload: it is not valid JSON (unexpected &lt;).');
    const cutShort = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: '{"amount": 900,\n  "memo" "x"}' });
    expect(consoleFlashText(cutShort.text)).toContain('payload: it is not valid JSON (line 2, column 10).');
    expect(badJson.text).not.toContain('<script>}');
    expect(badJson.text).not.toMatch(/SyntaxError|at JSON\.parse|"code":/);
    expect(badJson.text).toContain('id="amend-form"'); // the evidence and the forms again

    const badLabels = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: JSON.stringify(PAYMENT), amended_labels: 'env production' });
    expect(badLabels.status).toBe(400);
    expect(consoleFlashText(badLabels.text)).toContain('labels: line 1 is not key=value');

    // The API's own content checks come after: a reserved label is refused with its sentence.
    const reserved = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: JSON.stringify(PAYMENT), amended_labels: 'env=production\napproval_granted=yes' });
    expect(reserved.status).toBe(400);
    expect(consoleFlashCode(reserved.text)).toBe('reserved_label');

    const denied = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: JSON.stringify({ ...PAYMENT, beneficiary: { name: 'X', country: 'KP' } }), amended_labels: 'env=production' });
    expect(denied.status).toBe(403);
    expect(consoleFlashCode(denied.text)).toBe('amendment_denied');
    expect(consoleFlashText(denied.text)).toContain('The active policy denies the edited request, so it cannot be approved. Nothing was recorded. Policy: no payments to sanctioned countries (rule deny-sanctioned).');

    const stricter = await rita.post(approvePath(job.job_id), { ...fields, amended_payload: JSON.stringify({ ...PAYMENT, amount: 250_000 }), amended_labels: 'env=production' });
    expect(stricter.status).toBe(409);
    expect(consoleFlashCode(stricter.text)).toBe('amendment_needs_new_approval');
    expect(consoleFlashText(stricter.text)).toContain('submit it as a new job');

    const fixed = await rita.post(approvePath(job.job_id), { ...fields, amended_request: JSON.stringify({ payload: PAYMENT, topic: 'finance.other' }) });
    expect(fixed.status).toBe(400);
    expect(consoleFlashCode(fixed.text)).toBe('amendment_field_fixed');

    expect((await events(job.job_id)).map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested']);
  });

  it('a form bigger than the body limit is refused (413) before anything is parsed or recorded', async () => {
    const job = await payment();
    const rita = await ConsoleClient.signedIn(svc.url, await bearer('rita', ['reviewer']));
    const page = await rita.get(pagePath(job.job_id));
    const body = `${new URLSearchParams(reviewed(page.text)).toString()}&amended_payload=${encodeURIComponent(JSON.stringify({ ...PAYMENT, memo: 'x'.repeat(2 * 1024 * 1024) }))}`;
    const res = await rita.post(approvePath(job.job_id), body);
    expect(res.status).toBe(413);
    expect(res.text).toContain('payload_too_large');
    expect((await events(job.job_id)).map((e) => e.type)).toEqual(['JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested']);
  });

  it('on behalf of: without a delegation the delegation_not_found sentence; with one, the vote shows "bob for alice"; a rejection on behalf of names both', async () => {
    const job = await payment();
    const other = await payment();
    const bob = await ConsoleClient.signedIn(svc.url, await bearer('bob', ['reviewer']));
    const page = await bob.get(pagePath(job.job_id));
    expect(page.text.match(/name="on_behalf_of"/g)?.length).toBeGreaterThanOrEqual(3); // approve, reject, edit

    const none = await bob.post(approvePath(job.job_id), { ...reviewed(page.text), on_behalf_of: 'alice' });
    expect(none.status).toBe(403);
    expect(consoleFlashCode(none.text)).toBe('delegation_not_found');
    expect(consoleFlashText(none.text)).toContain('No active delegation lets you act for that reviewer now.');
    const badName = await bob.post(approvePath(job.job_id), { ...reviewed(page.text), on_behalf_of: 'alice\u0000<b>' });
    expect(badName.status).toBe(400);
    expect(consoleFlashCode(badName.text)).toBe('invalid_request');

    const endsAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const delegated = await call(svc.url, 'POST', '/delegations', await bearer('alice', ['reviewer']), { delegate: 'bob', ends_at: endsAt, reason: 'out of office' });
    expect(delegated.status).toBe(201);
    const voted = await bob.post(approvePath(job.job_id), { ...reviewed(page.text), on_behalf_of: ' alice ' });
    expect(voted.status).toBe(303);
    expect(voted.headers.get('location')).toContain('done=approval_recorded');
    const shown = await bob.get(pagePath(job.job_id));
    expect(shown.text).toMatch(/id="quorum">1 of 2 \(voted: bob for alice\)/);

    const otherPage = await bob.get(pagePath(other.job_id));
    const rejected = await bob.post(`/console/approvals/${other.job_id}/reject?tenant=default`, { csrf: consoleCsrfOf(otherPage.text), reason: 'wrong vendor', on_behalf_of: 'alice' });
    expect(rejected.status).toBe(303);
    const rejection = (await events(other.job_id)).find((e) => e.type === 'ApprovalRejected');
    expect(rejection?.data).toMatchObject({ rejected_by: 'alice', cast_by: 'bob' });
  });
  it('/console/delegations lists mine, delegates and revokes by POST with CSRF; refusals are sentences; a delegate cannot revoke', async () => {
    const carol = await ConsoleClient.signedIn(svc.url, await bearer('carol', ['reviewer']));
    const dave = await ConsoleClient.signedIn(svc.url, await bearer('dave', ['reviewer']));
    const aud = await ConsoleClient.signedIn(svc.url, await bearer('aud', ['auditor']));
    const empty = await carol.get('/console/delegations');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('id="no-delegations"');
    expect(empty.text).toContain('id="delegate-form"');
    expect((await aud.get('/console/delegations')).text).not.toContain('id="delegate-form"');

    const until = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    const noCsrf = await carol.post('/console/delegations', { delegate: 'dave', ends_at: until, reason: 'away' });
    expect(noCsrf.status).toBe(403);
    expect(consoleFlashCode(noCsrf.text)).toBe('csrf_token_invalid');
    const csrf = consoleCsrfOf(empty.text);
    const toSelf = await carol.post('/console/delegations', { csrf, delegate: 'carol', ends_at: until, reason: 'away' });
    expect(toSelf.status).toBe(400);
    expect(consoleFlashCode(toSelf.text)).toBe('invalid_delegation');
    const badDate = await carol.post('/console/delegations', { csrf, delegate: 'dave', ends_at: 'next tuesday <b>', reason: 'away' });
    expect(badDate.status).toBe(400);
    expect(consoleFlashText(badDate.text)).toContain('ends_at');
    expect(badDate.text).not.toContain('tuesday <b>');

    const granted = await carol.post('/console/delegations', { csrf, delegate: 'dave', ends_at: until, reason: 'away <i>skiing</i>' });
    expect(granted.status).toBe(303);
    expect(granted.headers.get('location')).toBe('/console/delegations?done=delegated');
    await eventually(async () => (await carol.get('/console/delegations')).text.includes('data-status="active"'), 'the delegation listed');
    const listed = await carol.get('/console/delegations');
    expect(consoleFlashCode((await carol.get('/console/delegations?done=delegated')).text)).toBe('delegated');
    expect(listed.text).toContain('away &lt;i&gt;skiing&lt;/i&gt;');
    const id = /id="delegation-([0-9a-f-]{36})"/.exec(listed.text)![1]!;
    const api = await call(svc.url, 'GET', '/delegations', await bearer('carol', ['reviewer']));
    expect(api.body.items).toMatchObject([{ delegation_id: id, delegator: 'carol', delegate: 'dave', ends_at: `${until}T00:00:00Z`, status: 'active' }]);

    // The delegate sees it, without a revoke button; a revoke by them is refused.
    const daves = await dave.get('/console/delegations');
    expect(daves.text).toContain(`id="delegation-${id}"`);
    expect(daves.text).not.toContain(`/console/delegations/${id}/revoke`);
    const byDelegate = await dave.post(`/console/delegations/${id}/revoke`, { csrf: consoleCsrfOf(daves.text) });
    expect(byDelegate.status).toBe(403);
    expect(consoleFlashCode(byDelegate.text)).toBe('forbidden');
    expect((await carol.post('/console/delegations/not-an-id/revoke', { csrf })).status).toBe(404);

    const revoked = await carol.post(`/console/delegations/${id}/revoke`, { csrf, reason: 'back early' });
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe('/console/delegations?done=revoked');
    await eventually(async () => (await carol.get('/console/delegations')).text.includes('data-status="revoked"'), 'the revocation listed');
    expect((await carol.get('/console/delegations')).text).toContain('revoked by carol: back early');
  });
});
