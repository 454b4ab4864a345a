import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { testTrustEnv } from '../support/keys';
import { ServiceProcess, startApp } from '../support/processes';
import { APPROVAL_RELAYS, ownersOf, POLICY_RELAYS, RELAYED_TOPICS, RelayedMessages, startInstances, storedRelayEvents } from '../support/relay-counts';
import { SignoffClient } from '../support/signoff-client';
import { eventually } from '../support/wait';

const LEASE_MS = 2_000;
/** The relays' batch: at most this many events are published again by the survivor of a failover. */
const RELAY_BATCH = 200;

/**
 * Issue 15, one relay per subscription across instances: N instances of the policy and approval
 * services on one broker and one PostgreSQL database publish every relayed event once (counted
 * on the real topics against the events in the store) at N = 1 and N = 2, and after the owner of
 * the relays is SIGKILLed the survivor takes over within a few seconds, losing nothing.
 */
describe('scale-out: one active relay per subscription across instances', () => {
  const prefix = `e2eso${randomBytes(3).toString('hex')}.`;
  let db: { url: string; drop: () => Promise<void> };
  let env: Record<string, string>;
  const policies: ServiceProcess[] = [];
  const approvals: ServiceProcess[] = [];
  let messages: RelayedMessages;
  let submitted = 0;

  beforeAll(async () => {
    db = await createTestDatabase('e2escale');
    env = {
      KAFKA_BROKERS: testKafkaBrokers().join(','),
      EVENT_STORE_URL: db.url,
      KAFKA_TOPIC_PREFIX: prefix,
      ...(await testTrustEnv()),
      POLICY_PATH: 'test/e2e/fixtures/e2e-policy.yaml',
      SUBSCRIPTION_LEASE_MS: String(LEASE_MS),
      GRPC_PORT: '0',
      LOG_LEVEL: 'info',
    };
    messages = new RelayedMessages(testKafkaBrokers(), prefix);
  });
  afterAll(async () => {
    await messages?.stop().catch(() => undefined);
    await Promise.all([...policies, ...approvals].map((p) => p.stop()));
    await db?.drop();
  });

  /** Submits `allowed` allowed jobs and `approved` jobs that need (and get) an approval, spread over the instances. */
  async function load(allowed: number, approved: number): Promise<void> {
    const live = (procs: ServiceProcess[]) => procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    const submitters = await Promise.all(live(policies).map((p) => SignoffClient.as(p.url, 'agent-7', ['submitter'])));
    const reviewers = await Promise.all(live(approvals).map((p) => SignoffClient.as(p.url, 'rita', ['reviewer'])));
    const jobs = Array.from({ length: allowed + approved }, (_, i) => ({ id: `so-${submitted + i}`, needsApproval: i >= allowed }));
    submitted += jobs.length;
    await Promise.all(
      jobs.map(async (job, i) => {
        const submitter = submitters[i % submitters.length]!;
        const res = job.needsApproval
          ? await submitter.submit({ job_id: job.id, topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { i } })
          : await submitter.submit({ job_id: job.id, topic: 'knowledge.read', payload: { i } });
        expect(res.status).toBe(202);
        if (!job.needsApproval) return;
        const reviewer = reviewers[i % reviewers.length]!;
        await eventually(async () => (await reviewer.approve(job.id, { reason: 'ok' })).status === 200, `${job.id} to be approved`, 20_000);
      }),
    );
  }

  /** Waits until every stored event of every relayed topic is on it, then lets duplicates arrive. */
  async function relayed(what: string, timeoutMs = 30_000): Promise<{ stored: Awaited<ReturnType<typeof storedRelayEvents>>; took: number }> {
    const began = Date.now();
    let stored = await storedRelayEvents(db.url);
    await eventually(
      async () => {
        stored = await storedRelayEvents(db.url);
        const seen = messages.snapshot();
        return RELAYED_TOPICS.every((t) => seen[t].events >= stored[t]);
      },
      what,
      timeoutMs,
    );
    const took = Date.now() - began;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return { stored: await storedRelayEvents(db.url), took };
  }

  it('publishes each relayed event once at 1 and 2 instances, and at least once (nothing lost) after the owner is killed', async () => {
    // N = 1.
    policies.push(await startApp('policy-service', env, 120_000));
    approvals.push(await startApp('approval-service', env, 120_000));
    await messages.start();
    await load(20, 10);
    let { stored } = await relayed('every event relayed at N = 1');
    let seen = messages.snapshot();
    expect(stored['jobs.evaluated']).toBe(30);
    expect(stored['jobs.approved']).toBe(10);
    for (const topic of RELAYED_TOPICS) expect({ topic, messages: seen[topic].messages }).toEqual({ topic, messages: stored[topic] });

    // N = 2: the new instances stand by.
    policies.push(...(await startInstances('policy-service', 1, env)));
    approvals.push(...(await startInstances('approval-service', 1, env)));
    await load(30, 10);
    ({ stored } = await relayed('every event relayed at N = 2'));
    seen = messages.snapshot();
    for (const topic of RELAYED_TOPICS) {
      expect({ topic, messages: seen[topic].messages, events: seen[topic].events }).toEqual({ topic, messages: stored[topic], events: stored[topic] });
    }
    for (const relay of POLICY_RELAYS) expect(await ownersOf(policies, relay)).toEqual([0]);
    for (const relay of APPROVAL_RELAYS) expect(await ownersOf(approvals, relay)).toEqual([0]);
    // No tug-of-war: nothing but the lease log lines about the checkpoints.
    for (const proc of [...policies, ...approvals]) expect(proc.output()).not.toMatch(/moved by another instance/);

    // The owners die without a word; the survivors take over within the lease.
    const before = seen;
    await Promise.all([policies[0]!.stop('SIGKILL'), approvals[0]!.stop('SIGKILL')]);
    const killedAt = Date.now();
    await eventually(
      async () => {
        for (const relay of POLICY_RELAYS) if ((await ownersOf(policies, relay)).join() !== '1') return false;
        for (const relay of APPROVAL_RELAYS) if ((await ownersOf(approvals, relay)).join() !== '1') return false;
        return true;
      },
      'the survivors to hold every lease',
      30_000,
    );
    const tookOver = Date.now() - killedAt;
    await load(30, 10);
    const failover = await relayed('the survivors to relay everything after the failover');
    seen = messages.snapshot();
    for (const topic of RELAYED_TOPICS) {
      // Nothing lost; duplicates only of what the dead owner had in flight.
      expect({ topic, events: seen[topic].events }).toEqual({ topic, events: failover.stored[topic] });
      expect(seen[topic].messages).toBeGreaterThanOrEqual(failover.stored[topic]);
      expect(seen[topic].messages - failover.stored[topic]).toBeLessThanOrEqual(RELAY_BATCH);
    }
    expect(before['jobs.evaluated'].messages).toBeLessThan(seen['jobs.evaluated'].messages);
    // Within a few seconds of the death: the lease (2 s), a standby poll (ttl/5) and a busy machine.
    expect(tookOver).toBeGreaterThanOrEqual(LEASE_MS * 0.6);
    expect(tookOver).toBeLessThan(LEASE_MS + 5_000);
    expect(policies[1]!.output()).toMatch(/subscription audit-relay: now handled by this instance .*expired/);
  });
});
