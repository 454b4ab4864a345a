import { randomBytes } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApprovalGrantedData, ApprovalInvalidatedData, JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { JsonLogger, SignoffMetrics } from '@signoff/observability';
import { connectMessageBus, createHttpApp } from '@signoff/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, testConfig } from '../../../test/support/app';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { eventually } from '../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../../approval-service/src/testing/approval-test.app';
import { POLICY_V1, POLICY_V2_UNRELATED_CHANGE, writePolicyFile } from '../../approval-service/src/testing/test-policies';
import { DispatchServiceModule } from '../../dispatch-service/src/app.module';
import { TopicRecorder, waitForGroupCaughtUp } from '../../dispatch-service/src/testing/dispatch.test-kit';
import { PolicyServiceModule } from '../../policy-service/src/app.module';

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
 * already replaced that policy when the dispatcher looks.
 */
describe('the policy race between two approval instances is decided by the log (strict mode)', () => {
  const prefix = `race${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const brokers = testKafkaBrokers();
  const GRACE_MS = 400;
  let db: { url: string; drop: () => Promise<void> };
  let policySvc: Awaited<ReturnType<typeof startTestApp>>;
  let fresh: ApprovalTestApp;
  let stale: ApprovalTestApp;
  let dispatch: NestFastifyApplication | null = null;
  let dispatched: TopicRecorder;
  let approvedNotices: TopicRecorder;
  let store: EventStore;
  let submitter: string;
  let reviewer: string;
  let admin: string;
  let p1: string;
  let p2: string;

  const env = () => ({ EVENT_STORE_URL: db.url, KAFKA_BROKERS: brokers.join(','), KAFKA_TOPIC_PREFIX: prefix, DISPATCH_GRACE_MS: String(GRACE_MS) });
  const submit = async (): Promise<string> => {
    const res = await call(policySvc.url, 'POST', '/jobs', submitter, {
      topic: 'finance.payment.execute',
      labels: { env: 'production' },
      payload: { amount: 1250, currency: 'EUR' },
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('approval_required');
    return res.body.job_id as string;
  };
  const approve = (via: ApprovalTestApp, jobId: string) => call(via.url, 'POST', `/approvals/${jobId}/approve`, reviewer, { reason: 'checked' });
  const events = (jobId: string) => store.readStream<JobEvent>(toJobStreamId(jobId));
  const typesOf = async (jobId: string) => (await events(jobId)).map((e) => e.type);
  const dataOf = async <T>(jobId: string, type: JobEvent['type']) => (await events(jobId)).find((e) => e.type === type)?.data as T | undefined;
  const stateOf = async (jobId: string) => (await call(policySvc.url, 'GET', `/jobs/${jobId}`, reviewer)).body.state;
  /** The policy an instance holds in memory (what its approve checks). */
  const heldBy = (svc: { app: NestFastifyApplication }) => svc.app.get(ActivePolicy).get().snapshot;

  async function startDispatcher(): Promise<NestFastifyApplication> {
    const config = testConfig(env());
    const app = await createHttpApp(DispatchServiceModule.forRoot(config, { instanceId: 'dispatch-race', scanIntervalMs: 50 }), {
      service: 'dispatch-race',
      logger: new JsonLogger('dispatch-race', 'error'),
    });
    await connectMessageBus(app, config, `${prefix}dispatch-service`);
    await app.startAllMicroservices();
    await app.init();
    return app;
  }

  beforeAll(async () => {
    db = await createTestDatabase('policyrace');
    const policyPath = writePolicyFile(POLICY_V1);
    const config = testConfig({ ...env(), POLICY_PATH: policyPath });
    policySvc = await startTestApp(PolicyServiceModule.forRoot(config));
    fresh = await startApprovalApp({ databaseUrl: db.url, policyPath, env: env() });
    stale = await startApprovalApp({ databaseUrl: db.url, policyPath, env: env(), policyPollIntervalMs: 3_600_000 });
    store = policySvc.app.get(EventStore);
    const bus = policySvc.app.get(MessageBus, { strict: false });
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: 6 })));
    dispatched = await TopicRecorder.start(bus, topics.dispatch);
    approvedNotices = await TopicRecorder.start(bus, topics.approved);
    submitter = await bearer('agent-7', ['submitter']);
    reviewer = await bearer('rita', ['reviewer']);
    admin = await bearer('root', ['admin']);
    p1 = heldBy(policySvc);
  });

  afterAll(async () => {
    await dispatched?.stop();
    await approvedNotices?.stop();
    await dispatch?.close();
    await stale?.close();
    await fresh?.close();
    await policySvc?.close();
    await db?.drop();
  });

  it('voids the stale instance’s grants, and dispatches a grant whose policy was replaced only after it in log order', async () => {
    // Three approvals requested under P1; one of them approved (through the fresh instance) before P2.
    const before = await submit();
    const raceAtStart = await submit();
    const raceLive = await submit();
    expect((await approve(fresh, before)).body.status).toBe('approved');

    // P2 is activated through the policy service; the fresh instance sees it, the stale one never does.
    const put = await fetch(`${policySvc.url}/api/v1/policy`, {
      method: 'PUT',
      headers: { authorization: admin, 'content-type': 'application/yaml' },
      body: POLICY_V2_UNRELATED_CHANGE,
    });
    expect(put.status).toBe(200);
    p2 = ((await put.json()) as { snapshot: string }).snapshot;
    expect(p2).not.toBe(p1);
    await eventually(() => heldBy(fresh) === p2, 'the fresh approval instance to see P2');
    expect(heldBy(stale)).toBe(p1);

    // The fresh instance refuses; the stale one grants under P1 after P2: both appends succeed.
    const refused = await approve(fresh, raceAtStart);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'snapshot_changed', expected: p1, current: p2 });
    const granted = await approve(stale, raceAtStart);
    expect(granted.status).toBe(200);
    expect(granted.body.status).toBe('approved');
    expect(await dataOf<ApprovalGrantedData>(raceAtStart, 'ApprovalGranted')).toMatchObject({ policy_snapshot: p1 });

    // The dispatcher starts now, with P2 active: it judges both grants by their place in the log.
    dispatch = await startDispatcher();
    await eventually(async () => (await typesOf(raceAtStart)).includes('ApprovalInvalidated'), 'the stale grant to be invalidated', 20_000);
    expect(await dataOf<ApprovalInvalidatedData>(raceAtStart, 'ApprovalInvalidated')).toMatchObject({
      job_id: raceAtStart,
      code: 'snapshot_changed',
      expected: p1,
      current: p2,
    });
    await eventually(async () => (await typesOf(before)).includes('JobDispatched'), 'the grant made before P2 to be dispatched', 20_000);
    expect(await stateOf(before)).toBe('DISPATCHED');
    expect(await stateOf(raceAtStart)).toBe('INVALIDATED');

    // Live: the stale instance grants again while the dispatcher runs; a new job under P2 is approved normally.
    const underP2 = await submit();
    expect((await approve(stale, raceLive)).body.status).toBe('approved');
    expect((await approve(fresh, underP2)).body.status).toBe('approved');
    await eventually(async () => (await typesOf(raceLive)).includes('ApprovalInvalidated'), 'the live stale grant to be invalidated', 20_000);
    await eventually(async () => (await typesOf(underP2)).includes('JobDispatched'), 'the grant under P2 to be dispatched', 20_000);
    expect(await dataOf<ApprovalInvalidatedData>(raceLive, 'ApprovalInvalidated')).toMatchObject({ expected: p1, current: p2 });
    expect(await stateOf(raceLive)).toBe('INVALIDATED');

    // The dispatcher was told about every grant and handled the notices; long past the grace, the
    // replay consumer has not replayed the void ones either.
    await eventually(() => [before, raceAtStart, raceLive, underP2].every((id) => approvedNotices.forJob(id).length > 0), 'every approved notice');
    await waitForGroupCaughtUp(brokers, `${prefix}dispatch-service`, [topics.approved]);
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS * 4));
    await eventually(() => dispatched.forJob(before).length === 1 && dispatched.forJob(underP2).length === 1, 'the valid grants on the dispatch topic');
    for (const voided of [raceAtStart, raceLive]) {
      expect(dispatched.forJob(voided)).toEqual([]);
      expect(await typesOf(voided)).not.toContain('DispatchClaimed');
      expect(await typesOf(voided)).not.toContain('DispatchReplayed');
    }
    const mismatches = (await dispatch.get(SignoffMetrics).approvalsSnapshotMismatch.get()).values[0]?.value;
    expect(mismatches).toBe(2);
  });
});
