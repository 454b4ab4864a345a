import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET, tokenFor } from '../support/app';
import { ROOT, ServiceProcess, startApp } from '../support/processes';
import { SignoffClient } from '../support/signoff-client';

const POLICY = 'test/e2e/fixtures/e2e-policy.yaml';
const CHROMIUM = '/usr/bin/chromium';
/**
 * Screenshots of the main pages: into docs/console (committed, shown in the README) when
 * UPDATE_SCREENSHOTS=1, else into a temporary folder, so a test run leaves the checkout clean.
 */
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'console') : path.join(os.tmpdir(), 'signoff-console-shots');

/** Launches Debian's Chromium, or fails saying how to get it (never skips). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the console's browser tests need Debian's Chromium. Install it: apt-get install -y chromium (.ci/run does this when absent)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
}

/** Signs in through the sign-in form, pasting the token as a reviewer would. */
export async function signIn(context: BrowserContext, base: string, token: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.waitForURL(/\/console\/sign-in$/);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/console$/);
  return page;
}

/**
 * The reviewer console in a real browser (Debian's Chromium driven by playwright-core) against the
 * real standalone control plane (`npm start`'s composition, the demo worker in-process).
 */
describe('reviewer console in Chromium, on the standalone (npm start)', () => {
  let dataDir: string;
  let app: ServiceProcess;
  let browser: Browser;
  let submitter: SignoffClient;
  let admin: SignoffClient;
  let reviewerToken: string;

  beforeAll(async () => {
    browser = await launchChromium();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-console-'));
    app = await startApp('standalone', {
      EVENT_STORE_URL: `pglite://${dataDir}`,
      POLICY_PATH: POLICY,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      GRPC_PORT: '0',
      DISPATCH_GRACE_MS: '500',
    });
    submitter = await SignoffClient.as(app.url, 'agent-1', ['submitter']);
    admin = await SignoffClient.as(app.url, 'root', ['admin']);
    reviewerToken = await tokenFor('rita', ['reviewer']);
    fs.mkdirSync(SHOTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const payment = (jobId: string, amount: number) => ({
    job_id: jobId,
    topic: 'finance.payment.execute',
    labels: { env: 'production', vendor: 'acme-supplies' },
    payload: { amount, currency: 'EUR', iban: 'DE89 3704 0044 0532 0130 00', memo: `invoice ${jobId}` },
  });

  it('sign in -> a job submitted over HTTP shows up live in the open inbox -> open -> approve -> the timeline shows dispatch and success', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    try {
      const page = await signIn(context, app.url, reviewerToken);
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
      await expect.poll(() => page.locator('#live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      const before = page.url();

      expect((await submitter.submit(payment('pay-live-1', 1250))).status).toBe(202);
      const row = page.locator('tr[data-job-id="pay-live-1"]');
      await row.waitFor({ timeout: 15_000 });
      expect(page.url()).toBe(before); // no reload, no navigation
      await expect.poll(() => row.locator('[data-col="votes"]').textContent()).toBe('0 of 1');
      expect(await page.locator('#flash').textContent()).toContain('New approval: pay-live-1');
      expect((await submitter.submit(payment('pay-live-2', 80))).status).toBe(202);
      await page.locator('tr[data-job-id="pay-live-2"]').waitFor({ timeout: 15_000 });
      await page.screenshot({ path: path.join(SHOTS, 'inbox.png'), fullPage: true });

      // Keyboard only: focus the link and press Enter.
      await row.getByRole('link', { name: 'pay-live-1' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/console\/approvals\/pay-live-1\?tenant=default$/);
      await expect.poll(() => page.locator('#quorum').textContent()).toContain('0 of 1');
      expect(await page.locator('.payload').textContent()).toContain('"amount": 1250');
      expect(await page.locator('#timeline').textContent()).toContain('ApprovalRequested');
      await page.screenshot({ path: path.join(SHOTS, 'detail.png'), fullPage: true });

      await page.getByLabel('Reason (optional)').fill('invoice matches the purchase order');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForURL(/done=approved/);
      expect(await page.locator('#flash').textContent()).toContain('Approved.');
      // The demo worker runs it: reload until the timeline has the dispatch and the success.
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type')));
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual(expect.arrayContaining(['ApprovalVoteRecorded', 'ApprovalGranted', 'JobDispatched', 'JobStarted', 'JobCompleted']));
      const completed = page.locator('#timeline li[data-type="JobCompleted"]');
      expect(await completed.textContent()).toContain('status: succeeded');
      expect(await page.locator('#timeline li[data-type="ApprovalGranted"]').textContent()).toContain('rita');
      // Back in the inbox, the approved job is gone; the other is still there.
      await page.goto(`${app.url}/console`);
      expect(await page.locator('tr[data-job-id="pay-live-1"]').count()).toBe(0);
      expect(await page.locator('tr[data-job-id="pay-live-2"]').count()).toBe(1);
      expect(errors).toEqual([]);

      // Readable on a phone.
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
      try {
        const small = await signIn(phone, app.url, reviewerToken);
        await small.goto(`${app.url}/console/approvals/pay-live-2?tenant=default`);
        // A string: evaluated in the page (the test's tsconfig has no DOM types).
        const overflow = await small.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
        expect(overflow).toBeLessThanOrEqual(1);
        await small.screenshot({ path: path.join(SHOTS, 'phone-detail.png'), fullPage: false });
      } finally {
        await phone.close();
      }
    } finally {
      await context.close();
    }
  });

  it('a rejection with a reason: the job does not run and the reason is in the timeline', async () => {
    const context = await browser.newContext();
    try {
      expect((await submitter.submit(payment('pay-reject', 99_000))).status).toBe(202);
      const page = await signIn(context, app.url, reviewerToken);
      await page.locator('tr[data-job-id="pay-reject"]').waitFor({ timeout: 15_000 });
      await page.goto(`${app.url}/console/approvals/pay-reject?tenant=default`);
      // The reason is required: the browser does not send the form without it.
      await page.getByRole('button', { name: 'Reject' }).click();
      expect(page.url()).not.toMatch(/done=/);
      await page.getByLabel('Reason (required)').fill('amount is 10x the usual; call the vendor first');
      await page.getByRole('button', { name: 'Reject' }).click();
      await page.waitForURL(/done=rejected/);
      expect(await page.locator('#flash').textContent()).toContain('Rejected. The job will not run.');
      expect(await page.locator('#approval-state').textContent()).toBe('rejected');
      expect(await page.locator('#timeline li[data-type="ApprovalRejected"]').textContent()).toContain('call the vendor first');
      expect(await page.locator('#approve-form').count()).toBe(0);
      expect((await submitter.job('pay-reject')).body.state).toBe('REJECTED');
    } finally {
      await context.close();
    }
  });

  it('a reviewer of another tenant sees nothing: an empty inbox, no live rows, 404 for the page', async () => {
    const context = await browser.newContext();
    try {
      const page = await signIn(context, app.url, await tokenFor('otto', ['reviewer'], { tenants: ['globex'] }));
      await expect.poll(() => page.locator('#live-status').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
      expect((await submitter.submit(payment('pay-foreign', 10))).status).toBe(202);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await page.locator('#approvals tr').count()).toBe(0);
      expect(await page.locator('#empty').isVisible()).toBe(true);
      const res = await page.goto(`${app.url}/console/approvals/pay-foreign?tenant=default`);
      expect(res?.status()).toBe(404);
      expect(await page.locator('#flash').textContent()).toContain('There is no such approval, or it is not one you may see.');
      expect(await page.content()).not.toContain('pay-foreign</code>');
    } finally {
      await context.close();
    }
  });

  it('approve with changes: the reviewer lowers the amount; with a quorum of 1 the job is granted as edited and the demo worker runs the edited request', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    try {
      const submitted = await submitter.submit(payment('pay-amend', 1250));
      expect(submitted.status).toBe(202);
      const page = await signIn(context, app.url, reviewerToken);
      page.on('pageerror', (e) => errors.push(e.message));
      await page.locator('tr[data-job-id="pay-amend"]').waitFor({ timeout: 15_000 });
      await page.goto(`${app.url}/console/approvals/pay-amend?tenant=default`);
      const originalHash = await page.locator('input[name="job_hash"]').first().inputValue();

      // The edit form is closed until asked for; it starts from the request as submitted.
      expect(await page.getByRole('button', { name: 'Approve with changes' }).isVisible()).toBe(false);
      await page.getByText('Edit the request first').click();
      const payloadBox = page.getByLabel('Payload (JSON)');
      const shown = await payloadBox.inputValue();
      expect(JSON.parse(shown)).toMatchObject({ amount: 1250, currency: 'EUR' });
      expect(await page.getByLabel('Labels (one key=value per line)').inputValue()).toBe('env=production\nvendor=acme-supplies');
      await payloadBox.fill(shown.replace('"amount": 1250', '"amount": 900'));
      await page.getByLabel('Why the change (optional)').fill('only 900 are due this month');
      await page.screenshot({ path: path.join(SHOTS, 'amend.png'), fullPage: true });
      await page.getByRole('button', { name: 'Approve with changes' }).click();
      await page.waitForURL(/done=approved/);
      expect(await page.locator('#flash').textContent()).toContain('Approved.');

      // The page says which version was approved, and shows it with its diff and votes.
      const approvedVersion = await page.locator('#approved-version').textContent();
      expect(approvedVersion).toContain('the edited version 2, not the original');
      const version = page.locator('#amendment-2');
      expect(await version.locator('.votes').textContent()).toContain('1 of 1');
      expect(await version.locator('.diff-table').textContent()).toMatch(/payload\.amount\s*1250\s*900/);
      const amendedHash = await version.getAttribute('data-job-hash');
      expect(amendedHash).not.toBe(originalHash);
      expect(approvedVersion).toContain(amendedHash!);

      // The demo worker runs it (its hash check holds for the edited request): dispatch and success.
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type')));
          },
          { timeout: 30_000, interval: 500 },
        )
        .toEqual(expect.arrayContaining(['JobAmendmentProposed', 'ApprovalVoteRecorded', 'ApprovalGranted', 'JobDispatched', 'JobStarted', 'JobCompleted']));
      expect(await page.locator('#timeline li[data-type="JobAmendmentProposed"]').textContent()).toContain('payload.amount');
      expect(await page.locator('#timeline li[data-type="JobCompleted"]').textContent()).toContain('status: succeeded');
      const job = await submitter.job('pay-amend');
      expect(job.body).toMatchObject({ state: 'SUCCEEDED', approval: { approved_job_hash: amendedHash } });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('a stale review: the policy changes under an open page; Approve is refused with the reason and the evidence is reloaded (drifted, what changed)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      expect((await submitter.submit(payment('pay-stale', 4200))).status).toBe(202);
      const page = await signIn(context, app.url, reviewerToken);
      await page.locator('tr[data-job-id="pay-stale"]').waitFor({ timeout: 15_000 });
      await page.goto(`${app.url}/console/approvals/pay-stale?tenant=default`);
      const shownSnapshot = await page.locator('input[name="policy_snapshot"]').first().inputValue();

      // Underneath the open page, an admin activates another policy (payments now need two reviewers).
      const text = fs.readFileSync(path.join(ROOT, POLICY), 'utf8').replace(
        /(id: require-approval-prod-finance[\s\S]*?decision: require_human)/,
        '$1\n    approval: {required: 2}',
      );
      const activated = await admin.call('PUT', '/policy', text);
      expect(activated.status).toBe(200);
      expect(activated.body.snapshot).not.toBe(shownSnapshot);

      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForLoadState('load');
      const flash = page.locator('#flash .flash');
      // The approval is bound to the snapshot the page showed, the active policy is another one: strict mode refuses.
      expect(await flash.getAttribute('data-code')).toBe('snapshot_changed');
      expect(await flash.textContent()).toContain('The policy changed since this approval was requested');
      expect(await page.content()).not.toMatch(/"code":|\{"/);
      // The evidence, read again: drifted, with what changed and this job's outcome under both.
      await expect.poll(() => page.locator('#drift-h').count(), { timeout: 10_000 }).toBe(1);
      const drift = await page.locator('section.warn').textContent();
      expect(drift).toContain('rule require-approval-prod-finance changed (approval)');
      expect(drift).toMatch(/this job: require_human \(rule require-approval-prod-finance; 1 reviewer; [^)]*\) → require_human \(rule require-approval-prod-finance; 2 reviewers;/);
      await page.screenshot({ path: path.join(SHOTS, 'refusal.png'), fullPage: true });
      expect((await submitter.job('pay-stale')).body.state).toBe('APPROVAL_REQUIRED');
    } finally {
      await context.close();
    }
  });
});
