import { randomBytes } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApprovalGrantedData, ApprovalInvalidatedData, DEFAULT_TENANT, JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { JsonLogger, SignoffMetrics } from '@signoff/observability';
import { connectMessageBus, createHttpApp } from '@signoff/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, testConfig } from '../../../test/support/app';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { testKeys } from '../../../test/support/keys';
import { eventually } from '../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp, POLICY_V1, POLICY_V2_UNRELATED_CHANGE, writePolicyFile } from '@signoff/approval-service/testing';
import { DispatchServiceModule } from '@signoff/dispatch-service';
import { TopicRecorder, waitForGroupCaughtUp } from '@signoff/dispatch-service/testing';
import { PolicyServiceModule } from '@signoff/policy-service';

/**
 * DESIGN section 12, "the log decides races between streams", on the real services sharing one
 * PostgreSQL event store and the real broker (composed here like the standalone composes them):
 * the policy service (POST /jobs, PUT /policy, GET /jobs/:id), two approval-service instances
 * (`fresh` re-reads the active policy every 250 ms, `stale` practically never, so it keeps the
 * replaced policy in memory), and the dispatch service.
 *
 * Activating P2 appends to the `policy` stream and approving appends to the job's stream, so both
 * appends succeed: the stale instance grants under P1 after P2 is active. The dispatcher judges
 * each grant by the policy active at its position in the global log: such a grant is void
 * (ApprovalInvalidated, INVALIDATED, nothing on the dispatch topic, never replayed), while a grant
 * made under the policy active at its position is dispatched even if a later activation has
 * already replaced that policy when the dispatcher looks. In SNAPSHOT_MODE=decision a grant whose
 * completing vote was re-evaluated under the policy at its position (equivalent_snapshot) stands.
 */
type Mode = 'strict' | 'decision';

/** The services of one scenario on a fresh database and topic prefix, and what the tests ask them. */
async function startRig(mode: Mode) {
  const prefix = `race${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const brokers = testKafkaBrokers();
  const db = await createTestDatabase('policyrace');
  const env = { EVENT_STORE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, DISPATCH_GRACE_MS: String(GRACE_MS), SNAPSHOT_MODE: mode };
  const policyPath = writePolicyFile(POLICY_V1);
  const policySvc = await startTestApp(PolicyServiceModule.forRoot(testConfig({ ...env, POLICY_PATH: policyPath })));
  const fresh = await startApprovalApp({ databaseUrl: db.url, policyPath, env });
  const stale = await startApprovalApp({ databaseUrl: db.url, policyPath, env, policyPollIntervalMs: 3_600_000 });
  const store = policySvc.app.get(EventStore);
  const bus = policySvc.app.get(MessageBus, { strict: false });
  await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));
  const dispatched = await TopicRecorder.start(bus, topics.dispatch);
  const approvedNotices = await TopicRecorder.start(bus, topics.approved);
  const submitter = await bearer('agent-7', ['submitter']);
  const reviewer = await bearer('rita', ['reviewer']);
  const admin = await bearer('root', ['admin']);
  let dispatch: NestFastifyApplication | null = null;
  // POST /jobs without a tenant: the submitter's jobs are the tenant `default`'s.
  const events = (jobId: string) => store.readStream<JobEvent>(toJobStreamId({ tenant: DEFAULT_TENANT, jobId }));

  const rig = {
    topics,
    brokers,
    prefix,
    fresh,
    stale,
    dispatched,
    approvedNotices,
    get dispatch(): NestFastifyApplication {
      if (!dispatch) throw new Error('the dispatcher is not started');
      return dispatch;
    },
    async submit(): Promise<string> {
      const res = await call(policySvc.url, 'POST', '/jobs', submitter, {
        topic: 'finance.payment.execute',
        labels: { env: 'production' },
        payload: { amount: 1250, currency: 'EUR' },
      });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('approval_required');
      return res.body.job_id as string;
    },
    approve: (via: ApprovalTestApp, jobId: string) => call(via.url, 'POST', `/approvals/${jobId}/approve`, reviewer, { reason: 'checked' }),
    /** PUT /policy on the policy service (an admin activating a bundle); the new snapshot. */
    async activate(yaml: string): Promise<string> {
      const res = await fetch(`${policySvc.url}/api/v1/policy`, { method: 'PUT', headers: { authorization: admin, 'content-type': 'application/yaml' }, body: yaml });
      expect(res.status).toBe(200);
      return ((await res.json()) as { snapshot: string }).snapshot;
    },
    typesOf: async (jobId: string) => (await events(jobId)).map((e) => e.type),
    dataOf: async <T>(jobId: string, type: JobEvent['type']) => (await events(jobId)).find((e) => e.type === type)?.data as T | undefined,
    stateOf: async (jobId: string) => (await call(policySvc.url, 'GET', `/jobs/${jobId}`, reviewer)).body.state,
    /** The policy an instance holds in memory (what its approve checks). */
    heldBy: (svc: { app: NestFastifyApplication }) => svc.app.get(ActivePolicy).get().snapshot,
    policySvc,
    async startDispatcher(): Promise<void> {
      const config = testConfig(env);
      const app = await createHttpApp(DispatchServiceModule.forRoot(config, { instanceId: 'dispatch-race', scanIntervalMs: 50, signingKeys: testKeys().keys }), {
        service: 'dispatch-race',
        logger: new JsonLogger('dispatch-race', 'error'),
      });
      await connectMessageBus(app, config, `${prefix}dispatch-service`);
      await app.startAllMicroservices();
      await app.init();
      dispatch = app;
    },
    /** Waits until the dispatcher handled every approved notice, then well past the replay grace. */
    async settle(jobIds: readonly string[]): Promise<void> {
      await eventually(() => jobIds.every((id) => approvedNotices.forJob(id).length > 0), 'every approved notice');
      await waitForGroupCaughtUp(brokers, `${prefix}dispatch-service`, [topics.approved]);
      await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 4));
    },
    /** A void grant: ApprovalInvalidated, INVALIDATED, never claimed, published or replayed. */
    async expectVoid(jobId: string, expected: string, current: string): Promise<void> {
      expect(await rig.dataOf<ApprovalInvalidatedData>(jobId, 'ApprovalInvalidated')).toMatchObject({ job_id: jobId, code: 'snapshot_changed', expected, current });
      expect(await rig.stateOf(jobId)).toBe('INVALIDATED');
      expect(dispatched.forJob(jobId)).toEqual([]);
      const types = await rig.typesOf(jobId);
      expect(types).not.toContain('DispatchClaimed');
      expect(types).not.toContain('DispatchReplayed');
    },
    mismatches: async () => (await rig.dispatch.get(SignoffMetrics).approvalsSnapshotMismatch.get()).values[0]?.value,
    async close(): Promise<void> {
      await dispatched.stop();
      await approvedNotices.stop();
      await dispatch?.close();
      await stale.close();
      await fresh.close();
      await policySvc.close();
      await db.drop();
    },
  };
  return rig;
}

const GRACE_MS = 400;
const eventuallyIn = (check: () => Promise<boolean>, what: string) => eventually(check, what, 20_000);

describe('the policy race between two approval instances is decided by the log (strict mode)', () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig('strict');
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('voids the stale instance’s grants, and dispatches a grant whose policy was replaced only after it in log order', async () => {
    const { fresh, stale } = rig;
    const p1 = rig.heldBy(rig.policySvc);
    // Three approvals requested under P1; one of them approved (through the fresh instance) before P2.
    const before = await rig.submit();
    const raceAtStart = await rig.submit();
    const raceLive = await rig.submit();
    expect((await rig.approve(fresh, before)).body.status).toBe('approved');

    // P2 is activated through the policy service; the fresh instance sees it, the stale one never does.
    const p2 = await rig.activate(POLICY_V2_UNRELATED_CHANGE);
    expect(p2).not.toBe(p1);
    await eventually(() => rig.heldBy(fresh) === p2, 'the fresh approval instance to see P2');
    expect(rig.heldBy(stale)).toBe(p1);

    // The fresh instance refuses; the stale one grants under P1 after P2: both appends succeed.
    const refused = await rig.approve(fresh, raceAtStart);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'snapshot_changed', expected: p1, current: p2 });
    const granted = await rig.approve(stale, raceAtStart);
    expect(granted.status).toBe(200);
    expect(granted.body.status).toBe('approved');
    expect(await rig.dataOf<ApprovalGrantedData>(raceAtStart, 'ApprovalGranted')).toMatchObject({ policy_snapshot: p1 });

    // The dispatcher starts now, with P2 active: it judges both grants by their place in the log.
    await rig.startDispatcher();
    await eventuallyIn(async () => (await rig.typesOf(raceAtStart)).includes('ApprovalInvalidated'), 'the stale grant to be invalidated');
    await eventuallyIn(async () => (await rig.typesOf(before)).includes('JobDispatched'), 'the grant made before P2 to be dispatched');
    expect(await rig.stateOf(before)).toBe('DISPATCHED');

    // Live: the stale instance grants again while the dispatcher runs; a new job under P2 is approved normally.
    const underP2 = await rig.submit();
    expect((await rig.approve(stale, raceLive)).body.status).toBe('approved');
    expect((await rig.approve(fresh, underP2)).body.status).toBe('approved');
    await eventuallyIn(async () => (await rig.typesOf(raceLive)).includes('ApprovalInvalidated'), 'the live stale grant to be invalidated');
    await eventuallyIn(async () => (await rig.typesOf(underP2)).includes('JobDispatched'), 'the grant under P2 to be dispatched');

    // The dispatcher was told about every grant; long past the grace the void ones are still untouched.
    await rig.settle([before, raceAtStart, raceLive, underP2]);
    await eventually(() => rig.dispatched.forJob(before).length === 1 && rig.dispatched.forJob(underP2).length === 1, 'the valid grants on the dispatch topic');
    await rig.expectVoid(raceAtStart, p1, p2);
    await rig.expectVoid(raceLive, p1, p2);
    expect(await rig.mismatches()).toBe(2);
  });
});

describe('the policy race in SNAPSHOT_MODE=decision', () => {
  let rig: Awaited<ReturnType<typeof startRig>>;
  beforeAll(async () => {
    rig = await startRig('decision');
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('keeps a grant checked as equivalent under the policy at its position, and voids one checked under a replaced policy', async () => {
    const { fresh, stale } = rig;
    const p1 = rig.heldBy(rig.policySvc);
    const equivalent = await rig.submit();
    const stalePick = await rig.submit();
    const p2 = await rig.activate(POLICY_V2_UNRELATED_CHANGE);
    await eventually(() => rig.heldBy(fresh) === p2, 'the fresh approval instance to see P2');

    // The fresh instance re-evaluates under P2 (same rule, same requirement) and grants; the stale one grants under P1.
    expect((await rig.approve(fresh, equivalent)).body.status).toBe('approved');
    expect(await rig.dataOf<ApprovalGrantedData>(equivalent, 'ApprovalGranted')).toMatchObject({ policy_snapshot: p1, equivalent_snapshot: p2 });
    expect((await rig.approve(stale, stalePick)).body.status).toBe('approved');
    expect(await rig.dataOf<ApprovalGrantedData>(stalePick, 'ApprovalGranted')).not.toHaveProperty('equivalent_snapshot');

    await rig.startDispatcher();
    await eventuallyIn(async () => (await rig.typesOf(equivalent)).includes('JobDispatched'), 'the equivalent grant to be dispatched');
    await eventuallyIn(async () => (await rig.typesOf(stalePick)).includes('ApprovalInvalidated'), 'the stale grant to be invalidated');
    await rig.settle([equivalent, stalePick]);
    expect(rig.dispatched.forJob(equivalent)).toHaveLength(1);
    await rig.expectVoid(stalePick, p1, p2);
    expect(await rig.mismatches()).toBe(1);
  });
});
