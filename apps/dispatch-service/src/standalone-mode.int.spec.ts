import { PGlite } from '@electric-sql/pglite';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { apiStateOf, foldJob } from '@signoff/approvals';
import { JobEvent, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { InMemoryMessageBus, MessageBus } from '@signoff/messaging';
import { JsonLogger } from '@signoff/observability';
import { connectMessageBus, createHttpApp } from '@signoff/runtime';
import { createWorker, DispatchedJob, Worker } from '@signoff/worker-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../test/support/app';
import { testKeys, testWorkerToken, withGrant } from '../../../test/support/keys';
import { DispatchServiceModule } from './app.module';
import { approveTestJob, eventsOf, submitTestJob, waitFor } from './testing/dispatch.test-kit';

/**
 * The standalone mode's wiring: the dispatch module on PGlite and the in-process bus, with a
 * worker-sdk worker in the same process keeping its claims in PGlite. Allowed and approved jobs
 * run once; a duplicate delivery (a replayed attempt) does not run again.
 */
describe('dispatch module in standalone mode (PGlite, in-process bus, in-process worker)', () => {
  let app: NestFastifyApplication;
  let store: EventStore;
  let commands: JobCommandHandler;
  let bus: MessageBus;
  let worker: Worker;
  let claimsDb: PGlite;
  const runs: DispatchedJob[] = [];

  beforeAll(async () => {
    const config = testConfig({ EVENT_STORE_URL: 'pglite://memory', DISPATCH_GRACE_MS: '300', WORKER_ACK_TIMEOUT_MS: '60000' });
    app = await createHttpApp(DispatchServiceModule.forRoot(config, { scanIntervalMs: 50, signingKeys: testKeys().keys }), {
      service: 'standalone-dispatch',
      logger: new JsonLogger('standalone-dispatch', 'error'),
    });
    await connectMessageBus(app, config, 'signoff-standalone');
    await app.startAllMicroservices();
    await app.init();
    store = app.get(EventStore);
    commands = app.get(JobCommandHandler);
    bus = app.get(MessageBus, { strict: false });
    expect(bus).toBeInstanceOf(InMemoryMessageBus);
    claimsDb = await PGlite.create();
    worker = await createWorker({
      bus,
      db: claimsDb,
      workerId: 'in-process',
      log: () => undefined,
      grantKeys: testKeys().keys.publicJwks(),
      workerToken: await testWorkerToken('in-process'),
      handler: (job) => {
        runs.push(job);
        return { ok: true };
      },
    });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.close();
    await claimsDb?.close();
  });

  it('runs an allowed job announced on the bus and an approved job found only by the replay consumer, once each', async () => {
    const topics = signoffTopics('signoff.');
    await submitTestJob(commands, 'std-allowed', 'allow');
    await bus.publish(topics.evaluated, [{ key: 'std-allowed', value: { job_id: 'std-allowed', decision: 'allow' } }]);
    const approved = await submitTestJob(commands, 'std-approved', 'require_human');
    await approveTestJob(commands, approved);
    for (const id of ['std-allowed', 'std-approved']) {
      await waitFor(async () => apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: id })))) === 'SUCCEEDED', `${id} SUCCEEDED`, 20_000);
    }
    expect(runs.map((r) => r.job_id).sort()).toEqual(['std-allowed', 'std-approved']);
    expect(await eventsOf(store, 'std-approved', 'DispatchReplayed')).toEqual([{ job_id: 'std-approved', attempt: 2, reason: 'not_published' }]);
    const [claim] = await eventsOf(store, 'std-approved', 'DispatchClaimed');
    expect(runs.find((r) => r.job_id === 'std-approved')).toMatchObject({ approval_granted: true, attempt: 2, idempotency_key: claim.idempotency_key });

    // A duplicate delivery of a later attempt (as a replay would send) is answered from the claim table.
    const [dispatched] = await eventsOf(store, 'std-allowed', 'JobDispatched');
    expect(dispatched.attempt).toBe(1);
    const duplicate = await withGrant({
      key: 'std-approved',
      value: {
        job_id: 'std-approved',
        ...approved.request,
        approval: { approval_id: 'approval-std-approved', approved_by: ['rita'], policy_snapshot: `sha256:${'5'.repeat(64)}`, job_hash: approved.jobHash },
        attempt: 3,
        idempotency_key: claim.idempotency_key,
      },
      headers: { approval_granted: 'true', 'idempotency-key': claim.idempotency_key, 'job-hash': approved.jobHash },
    });
    const outcome = await worker.process({
      topic: topics.dispatch,
      partition: 0,
      offset: '999',
      key: 'std-approved',
      value: Buffer.from(JSON.stringify(duplicate.value)),
      headers: duplicate.headers!,
      timestamp: String(Date.now()),
    });
    expect(outcome).toBe('duplicate');
    expect(runs).toHaveLength(2);
    // The dispatcher recorded both results, reported with the worker's credential.
    expect((await eventsOf(store, 'std-approved', 'JobStarted'))[0]).toMatchObject({ worker: 'in-process' });
  });
});
