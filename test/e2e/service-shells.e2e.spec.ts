import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testKafkaBrokers } from '../support/infra';
import { ServiceProcess, startApp } from '../support/processes';

const METRICS = [
  'signoff_approvals_already_approved_total',
  'signoff_approvals_snapshot_mismatch_total',
  'signoff_jobs_replayed_total',
  'signoff_approval_conflicts_total',
  'signoff_policy_decisions_total',
  'signoff_jobs_dispatched_total',
  'signoff_approvals_pending',
  'signoff_policy_evaluation_seconds',
  'signoff_approval_to_dispatch_seconds',
];

describe('service processes', () => {
  const started: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
  });

  it('the standalone process starts on embedded defaults, serves health and every metric of DESIGN §9, and stops cleanly on SIGTERM', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-standalone-'));
    const app = await startApp('standalone', { EVENT_STORE_URL: `pglite://${dataDir}` });
    started.push(app);
    const ready = await fetch(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    for (const name of METRICS) expect(metrics).toContain(name);
    const missing = await fetch(`${app.url}/api/v1/no-such-route`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await missing.json()).toMatchObject({ status: 404, code: 'not_found' });
    expect(await app.stop('SIGTERM')).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['policy-service', 'approval-service', 'dispatch-service'])('%s starts on the real broker and reports it ready', async (service) => {
    const app = await startApp(service, {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      EVENT_STORE_URL: testDatabaseUrl(),
      AUTH_JWT_SECRET: 'e2e-secret-e2e-secret-e2e-secret-0123',
      KAFKA_TOPIC_PREFIX: `shells${service.split('-')[0]}.`,
    });
    started.push(app);
    const ready = await fetch(`${app.url}/health/ready`);
    const body = (await ready.json()) as { checks: Record<string, { status: string }> };
    expect(ready.status).toBe(200);
    expect(body.checks.kafka.status).toBe('ok');
    expect(await app.stop('SIGTERM')).toBe(0);
  });

  it('a service with a bad environment refuses to start and names every problem', async () => {
    await expect(startApp('policy-service', { EVENT_STORE_URL: 'mysql://nope', SNAPSHOT_MODE: 'loose' }, 20_000)).rejects.toThrow(
      /exited with 78[\s\S]*EVENT_STORE_URL[\s\S]*KAFKA_BROKERS is required[\s\S]*AUTH_JWT_SECRET[\s\S]*SNAPSHOT_MODE/,
    );
  });
});
