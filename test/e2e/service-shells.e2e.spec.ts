import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl, testKafkaBrokers } from '../support/infra';
import { testTrustEnv } from '../support/keys';
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
      ...(await testTrustEnv()),
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      EVENT_STORE_URL: testDatabaseUrl(),
      KAFKA_TOPIC_PREFIX: `shells${service.split('-')[0]}.`,
    });
    started.push(app);
    const ready = await fetch(`${app.url}/health/ready`);
    const body = (await ready.json()) as { checks: Record<string, { status: string }> };
    expect(ready.status).toBe(200);
    expect(body.checks.kafka.status).toBe('ok');
    expect(await app.stop('SIGTERM')).toBe(0);
  });

  it('the dispatch service refuses to start without a signing key or a way to verify worker credentials', async () => {
    await expect(startApp('dispatch-service', { EVENT_STORE_URL: testDatabaseUrl(), KAFKA_BROKERS: testKafkaBrokers().join(',') }, 20_000)).rejects.toThrow(
      /exited with 78[\s\S]*AUTH_JWT_SECRET[\s\S]*SIGNOFF_SIGNING_KEY_FILE is required/,
    );
  });

  it('the dispatch service publishes its public keys (no token) and the policy service warns when Kafka ingress is trusted', async () => {
    const trust = await testTrustEnv();
    const common = { ...trust, KAFKA_BROKERS: testKafkaBrokers().join(','), EVENT_STORE_URL: testDatabaseUrl(), KAFKA_TOPIC_PREFIX: 'shellskeys.' };
    const dispatch = await startApp('dispatch-service', common);
    started.push(dispatch);
    const jwks = await fetch(`${dispatch.url}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(await jwks.json()).toEqual(JSON.parse(fs.readFileSync(trust.SIGNOFF_GRANT_JWKS, 'utf8')));
    const policy = await startApp('policy-service', { ...common, KAFKA_INGRESS_TRUSTED: 'true' });
    started.push(policy);
    await new Promise((r) => setTimeout(r, 500));
    expect(policy.output()).toMatch(/KAFKA_INGRESS_TRUSTED=true/);
    expect(await dispatch.stop('SIGTERM')).toBe(0);
    expect(await policy.stop('SIGTERM')).toBe(0);
  });

  it('a service with a bad environment refuses to start and names every problem', async () => {
    await expect(startApp('policy-service', { EVENT_STORE_URL: 'mysql://nope', SNAPSHOT_MODE: 'loose' }, 20_000)).rejects.toThrow(
      /exited with 78[\s\S]*EVENT_STORE_URL[\s\S]*KAFKA_BROKERS is required[\s\S]*AUTH_JWT_SECRET[\s\S]*SNAPSHOT_MODE/,
    );
  });
});
