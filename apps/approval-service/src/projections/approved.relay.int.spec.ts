import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { InboundMessage, KafkaMessageBus, MessageBus, Subscription } from '@signoff/messaging';
import { createTestDatabase, testKafkaBrokers } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';

describe('signoff.jobs.approved relay on the real Kafka broker', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let consumerBus: KafkaMessageBus;
  let subscription: Subscription;
  const received: InboundMessage[] = [];
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  const topic = signoffTopics(prefix).approved;

  beforeAll(async () => {
    db = await createTestDatabase('relay');
    const brokers = testKafkaBrokers();
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), env: { KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix } });
    await svc.app.get(MessageBus).ensureTopics([{ name: topic, partitions: DEFAULT_PARTITIONS }]);
    consumerBus = new KafkaMessageBus({ brokers, clientId: `relay-test-${prefix}` });
    subscription = await consumerBus.subscribe({
      groupId: `relay-test-${prefix}`,
      topics: [topic],
      fromBeginning: true,
      handler: async (message) => {
        received.push(message);
      },
    });
  });
  afterAll(async () => {
    await subscription?.stop();
    await consumerBus?.close();
    await svc?.close();
    await db?.drop();
  });

  it('publishes {job_id, tenant, approval_id, approved_by, policy_snapshot, job_hash} keyed by job_id once the grant is stored', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const approved = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('rita', ['reviewer']));
    expect(approved.body.status).toBe('approved');
    await eventually(() => received.some((m) => m.key === job.job_id), `a message for ${job.job_id} on ${topic}`, 30_000);
    const message = received.find((m) => m.key === job.job_id)!;
    expect(JSON.parse(message.value!.toString('utf8'))).toEqual({
      job_id: job.job_id,
      tenant: 'default',
      approval_id: approved.body.approval_id,
      approved_by: ['rita'],
      policy_snapshot: job.policy_snapshot,
      job_hash: job.job_hash,
    });
    // The same job id in another tenant is another job: its grant names its tenant.
    const twin = await submitJob(svc.app, paymentJob({ job_id: job.job_id, tenant: 'acme', payload: { amount: 1 } }));
    expect(twin.job_hash).not.toBe(job.job_hash);
    const twinApproved = await call(svc.url, 'POST', `/approvals/${job.job_id}/approve?tenant=acme`, await bearer('rita', ['reviewer']));
    expect(twinApproved.body.status).toBe('approved');
    await eventually(() => received.filter((m) => m.key === job.job_id).length === 2, 'the acme grant', 30_000);
    expect(JSON.parse(received.filter((m) => m.key === job.job_id)[1]!.value!.toString('utf8'))).toMatchObject({
      job_id: job.job_id,
      tenant: 'acme',
      approval_id: twinApproved.body.approval_id,
      job_hash: twin.job_hash,
    });
    // Votes that do not complete a quorum announce nothing.
    const quorum = await submitJob(svc.app, { topic: 'finance.transfer.large' });
    await call(svc.url, 'POST', `/approvals/${quorum.job_id}/approve`, await bearer('rita', ['reviewer']));
    await new Promise((r) => setTimeout(r, 500));
    expect(received.filter((m) => m.key === quorum.job_id)).toEqual([]);
  });
});
