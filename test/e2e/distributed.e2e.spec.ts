import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';
import { metric, SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

interface Seen {
  topic: string;
  key: string;
  headers: Record<string, string>;
  value: Record<string, unknown>;
}

/**
 * The whole story distributed: the policy, approval and dispatch services and the demo worker,
 * each its own process, on the real Kafka broker and a real PostgreSQL database. The dispatch and
 * audit topics are consumed and counted.
 */
describe('distributed services on Kafka and PostgreSQL', () => {
  const prefix = `e2e${randomBytes(3).toString('hex')}.`;
  let db: { url: string; drop: () => Promise<void> };
  const procs: ServiceProcess[] = [];
  let policy: ServiceProcess;
  let approval: ServiceProcess;
  let dispatch: ServiceProcess;
  const seen: Seen[] = [];
  const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}probe` });

  beforeAll(async () => {
    db = await createTestDatabase('e2edist');
    const env = {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      EVENT_STORE_URL: db.url,
      KAFKA_TOPIC_PREFIX: prefix,
      ...(await testTrustEnv()),
      POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
      DISPATCH_GRACE_MS: '1000',
    };
    policy = await startApp('policy-service', env);
    procs.push(policy);
    [approval, dispatch] = await Promise.all([startApp('approval-service', { ...env, GRPC_PORT: '0' }), startApp('dispatch-service', env)]);
    procs.push(approval, dispatch, await startApp('demo-worker', { ...env, WORKER_GROUP_ID: `${prefix}workers` }));
    await consumer.connect();
    await consumer.subscribe({ topics: [`${prefix}jobs.dispatch`, `${prefix}audit`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) =>
        void seen.push({
          topic,
          key: message.key?.toString() ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
        }),
    });
  });
  afterAll(async () => {
    await consumer.disconnect();
    await Promise.all(procs.map((p) => p.stop()));
    await db?.drop();
  });

  it('allow, deny, throttle and approve end as they must: dispatched once each, side effects once, audited once', async () => {
    const submitter = await SignoffClient.as(policy.url, 'agent-9', ['submitter']);
    const reader = await SignoffClient.as(policy.url, 'auditor', ['auditor']);
    const reviewer = await SignoffClient.as(approval.url, 'rita', ['reviewer']);

    expect((await submitter.submit({ job_id: 'd-allow', topic: 'knowledge.read' })).status).toBe(202);
    expect((await submitter.submit({ job_id: 'd-allow', topic: 'knowledge.read' })).status).toBe(202);
    expect((await submitter.submit({ job_id: 'd-deny', topic: 'data.delete' })).status).toBe(403);
    expect((await submitter.submit({ job_id: 'd-api-1', topic: 'api.call' })).status).toBe(202);
    expect((await submitter.submit({ job_id: 'd-api-2', topic: 'api.call' })).status).toBe(202);
    expect((await submitter.submit({ job_id: 'd-api-3', topic: 'api.call' })).status).toBe(429);
    const pay = await submitter.submit({ job_id: 'd-pay', topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 5 } });
    expect(pay.body.status).toBe('approval_required');
    expect(seen.filter((m) => m.key === 'd-pay' && m.topic.endsWith('dispatch'))).toEqual([]);
    await eventually(async () => (await reviewer.call('GET', '/approvals/d-pay')).status === 200, 'the approval service to know the job', 10_000);
    const approved = await reviewer.approve('d-pay', { reason: 'ok', policy_snapshot: pay.body.policy_snapshot, job_hash: pay.body.job_hash });
    expect(approved.body.status).toBe('approved');

    for (const id of ['d-allow', 'd-api-1', 'd-api-2', 'd-pay']) {
      await eventually(async () => (await reader.job(id)).body.state === 'SUCCEEDED', `${id} to succeed`, 30_000);
    }
    await new Promise((r) => setTimeout(r, 500));

    const dispatched = seen.filter((m) => m.topic === `${prefix}jobs.dispatch`);
    expect(dispatched.map((m) => m.key).sort()).toEqual(['d-allow', 'd-api-1', 'd-api-2', 'd-pay']);
    const payMessage = dispatched.find((m) => m.key === 'd-pay')!;
    expect(payMessage.headers).toMatchObject({ approval_granted: 'true', 'job-hash': pay.body.job_hash, 'signoff-grant': expect.any(String) });
    expect(payMessage.headers['idempotency-key']).toMatch(/^d-pay:[A-Za-z0-9_-]{22}$/);
    expect(payMessage.value).toMatchObject({ job_id: 'd-pay', approval: { approval_id: approved.body.approval_id, approved_by: ['rita'], policy_snapshot: pay.body.policy_snapshot } });
    expect(dispatched.find((m) => m.key === 'd-allow')!.headers.approval_granted).toBeUndefined();

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ job_id: string; n: number }>('SELECT job_id, count(*)::int AS n FROM demo_worker_side_effects GROUP BY job_id ORDER BY job_id');
      expect(rows).toEqual([
        { job_id: 'd-allow', n: 1 },
        { job_id: 'd-api-1', n: 1 },
        { job_id: 'd-api-2', n: 1 },
        { job_id: 'd-pay', n: 1 },
      ]);
    } finally {
      await pg.end();
    }

    // A job's history is served by the approval service (GET /jobs/:id/events).
    const events = (await (await SignoffClient.as(approval.url, 'auditor', ['auditor'])).call('GET', '/jobs/d-pay/events')).body.events as { id: string }[];
    await eventually(() => seen.filter((m) => m.topic === `${prefix}audit` && m.key === 'd-pay').length >= events.length, 'the audit stream to carry d-pay', 10_000);
    const audited = seen.filter((m) => m.topic === `${prefix}audit` && m.key === 'd-pay').map((m) => m.value.id);
    expect(audited).toEqual(events.map((e) => e.id));

    const policyMetrics = await (await fetch(`${policy.url}/metrics`)).text();
    expect(metric(policyMetrics, 'signoff_policy_decisions_total{decision="allow"}')).toBe(3);
    expect(metric(policyMetrics, 'signoff_policy_decisions_total{decision="throttle"}')).toBe(1);
    expect(metric(policyMetrics, 'signoff_policy_decisions_total{decision="deny"}')).toBe(1);
    const dispatchMetrics = await (await fetch(`${dispatch.url}/metrics`)).text();
    expect(metric(dispatchMetrics, 'signoff_jobs_dispatched_total')).toBe(4);
    expect(metric(dispatchMetrics, 'signoff_jobs_replayed_total')).toBe(0);
  });
});
