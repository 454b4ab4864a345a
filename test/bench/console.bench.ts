/*
 * Reviewer console benchmark (issue 12): what a reviewer waits for, in Debian's Chromium.
 *
 *   node -r ./tools/register.cjs test/bench/console.bench.ts   (BENCH_DATABASE_URL optional)
 *
 * The approval service (its real composition root, PostgreSQL) with 50 pending approvals, and a
 * headless Chromium driven by playwright-core:
 * 1. Inbox page load: navigation start to the load event of `GET /console` (HTML, stylesheet,
 *    script), median and p95 over 40 navigations. Same-run baseline: the same browser navigating
 *    to `GET /api/v1/approvals` (the JSON of the same list, bearer header), timed the same way.
 * 2. Time to visible: with the inbox open, a job needing approval is recorded (as the policy
 *    service records it) and the time until its row is in the page is taken, median and p95 over
 *    40 jobs. Same-run baseline: the same change arriving on a plain `GET /api/v1/approvals/stream`
 *    client (node:http) opened beside the page, for the same jobs.
 * Server, browser and PostgreSQL share this machine's cores. About half a minute.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { bearer, openSse, paymentJob, startApprovalApp, submitJob, writePolicyFile } from '@signoff/approval-service/testing';
import { startPostgres } from '../../deploy/local/postgres/postgres';
import { randomUUID } from 'node:crypto';
import { freshDatabase } from './support/service-cost';

const RUNS = 40;
const PENDING = 50;
const CHROMIUM = '/usr/bin/chromium';

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

function stats(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { median: at(0.5), p95: at(0.95) };
}

const NAV_TIME = "(() => { const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd - n.startTime; })()";

export async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium)`);
  const own = process.env.BENCH_DATABASE_URL ? null : await startPostgres({ durable: true });
  const databaseUrl = await freshDatabase(process.env.BENCH_DATABASE_URL ?? own!.url, 'bench_console');
  const svc = await startApprovalApp({ databaseUrl, policyPath: writePolicyFile() });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
  try {
    const authorization = await bearer('bench-reviewer', ['reviewer']);
    for (let i = 0; i < PENDING; i += 1) await submitJob(svc.app, paymentJob({ payload: { amount: 100 + i, currency: 'EUR', memo: `invoice ${i}` } }));
    const origin = new URL(svc.url);
    const context = await browser.newContext();
    await context.addCookies([{ name: 'signoff_console', value: authorization.slice(7), domain: origin.hostname, path: '/console', httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();

    // 1. Page load, after a warm-up of each.
    const api = await browser.newContext({ extraHTTPHeaders: { authorization } });
    const apiPage = await api.newPage();
    const inboxLoads: number[] = [];
    const jsonLoads: number[] = [];
    for (let i = 0; i < RUNS + 5; i += 1) {
      await page.goto(`${svc.url}/console`, { waitUntil: 'load' });
      await apiPage.goto(`${svc.url}/api/v1/approvals`, { waitUntil: 'load' });
      if (i < 5) continue;
      inboxLoads.push(await page.evaluate<number>(NAV_TIME));
      jsonLoads.push(await apiPage.evaluate<number>(NAV_TIME));
    }
    const rows = await page.locator('#approvals tr').count();
    if (rows !== PENDING) throw new Error(`expected ${PENDING} rows in the inbox, found ${rows}`);
    await api.close();

    // 2. Time to visible, with the inbox open and live, beside a plain SSE client of the API.
    await page.goto(`${svc.url}/console`, { waitUntil: 'load' });
    await page.waitForFunction("document.getElementById('live-status').dataset.state === 'live'");
    const sse = await openSse(svc.url, authorization);
    const visible: number[] = [];
    const onStream: number[] = [];
    try {
      for (let i = 0; i < RUNS + 3; i += 1) {
        const jobId = `ttv-${i}-${randomUUID().slice(0, 8)}`;
        const seen = sse.events.length;
        const t0 = performance.now();
        const submitted = submitJob(svc.app, paymentJob({ job_id: jobId }));
        let streamAt = 0;
        const streamed = (async () => {
          while (!sse.events.slice(seen).some((e) => (e.data.approval as { job_id: string }).job_id === jobId)) await new Promise((r) => setImmediate(r));
          streamAt = performance.now();
        })();
        await page.locator(`tr[data-job-id="${jobId}"]`).waitFor({ state: 'visible' });
        const rowAt = performance.now();
        await Promise.all([submitted, streamed]);
        if (i < 3) continue;
        visible.push(rowAt - t0);
        onStream.push(streamAt - t0);
      }
    } finally {
      sse.close();
    }
    await context.close();

    const load = stats(inboxLoads);
    const json = stats(jsonLoads);
    const ttv = stats(visible);
    const raw = stats(onStream);
    const ms = (n: number) => n.toFixed(1);
    process.stdout.write(
      [
        `| measurement (${PENDING} pending approvals, ${RUNS} runs) | median ms | p95 ms | same-run baseline | baseline median / p95 ms | ratio (median) |`,
        '| --- | ---: | ---: | --- | ---: | ---: |',
        `| inbox page load (navigation start to load event: HTML + CSS + JS) | ${ms(load.median)} | ${ms(load.p95)} | the same list as JSON (\`GET /api/v1/approvals\`) in the same browser | ${ms(json.median)} / ${ms(json.p95)} | ${(load.median / json.median).toFixed(2)}x |`,
        `| new approval: recorded -> row visible in the open inbox | ${ms(ttv.median)} | ${ms(ttv.p95)} | recorded -> event on a plain \`GET /api/v1/approvals/stream\` client | ${ms(raw.median)} / ${ms(raw.p95)} | ${(ttv.median / raw.median).toFixed(2)}x |`,
        '',
        `${os.cpus().length} cores shared by the service, Chromium and PostgreSQL. "Recorded" starts before the job's events are appended (the fixture appends as the policy service does), so both times include the append, the projection and the delivery.`,
        '',
      ].join('\n'),
    );
    log('done');
  } finally {
    await browser.close();
    await svc.close();
    await own?.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack}\n`);
      process.exit(1);
    },
  );
}
