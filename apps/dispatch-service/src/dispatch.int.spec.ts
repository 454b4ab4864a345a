import { randomBytes } from 'node:crypto';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { apiStateOf, ApproveJob, ClaimDispatch, foldJob } from '@signoff/approvals';
import { DISPATCH_GRANT_TYP, JobEvent, JobRef, signoffTopics, toJobStreamId } from '@signoff/contracts';
import { VerificationKeySet } from '@signoff/keys';
import { decodeJwt } from 'jose';
import { JobCommandHandler } from '@signoff/core';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { MessageBus } from '@signoff/messaging';
import { JsonLogger, SignoffMetrics } from '@signoff/observability';
import { connectMessageBus, createHttpApp, mintToken } from '@signoff/runtime';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { verifyDispatch } from '@signoff/worker-sdk';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig, tokenFor } from '../../../test/support/app';
import { testKeys, testWorkerToken } from '../../../test/support/keys';
import { createTestDatabase, testKafkaBrokers } from '../../../test/support/infra';
import { DispatchServiceModule } from './app.module';
import { ReplayConsumer } from './replay/replay.consumer';
import { listReplayCandidates } from './replay/replay-dry-run';
import {
  activateTestPolicy,
  approveTestJob,
  eventsOf,
  eventTypes,
  rejectTestJob,
  submitTestJob,
  TEST_POLICY_YAML,
  TEST_SNAPSHOT,
  topicMessageCount,
  TopicRecorder,
  waitFor,
  waitForGroupCaughtUp,
} from './testing/dispatch.test-kit';

const GRACE_MS = 2_000;
const ACK_MS = 10_000;
const RUN_MS = 60_000;
const MAX_ATTEMPTS = 3;

describe('dispatch service module on PostgreSQL and the real broker', () => {
  const prefix = `dsp${randomBytes(3).toString('hex')}.`;
  const topics = signoffTopics(prefix);
  const groupId = `${prefix}dispatch-service`;
  const brokers = testKafkaBrokers();
  const clock = new FixedClock(new Date());
  let db: { url: string; drop: () => Promise<void> };
  let app: NestFastifyApplication;
  let store: EventStore;
  let commands: JobCommandHandler;
  let bus: MessageBus;
  let metrics: SignoffMetrics;
  let replay: ReplayConsumer;
  let recorder: TopicRecorder;
  /** Everything dead-lettered from jobs.results by the dispatch service. */
  let refused: TopicRecorder;
  let workerToken: string;

  const metric = async (name: string): Promise<number> => {
    const text = await metrics.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };
  /** Waits until the dispatcher handled every notification and the recorder saw every dispatch. */
  const settle = async () => {
    await waitForGroupCaughtUp(brokers, groupId, [topics.evaluated, topics.approved, topics.results]);
    const total = await topicMessageCount(brokers, topics.dispatch);
    await waitFor(() => recorder.messages.length === total, `the recorder to see all ${total} dispatch messages`);
    const dead = await topicMessageCount(brokers, topics.resultsDlq);
    await waitFor(() => refused.messages.length === dead, `the recorder to see all ${dead} refused results`);
  };
  /** The idempotency key the job's first claim fixed (random: read it from the stream). */
  const keyOf = async (job: string | JobRef) => (await eventsOf(store, job, 'DispatchClaimed'))[0].idempotency_key;
  /** A worker's report, as the worker SDK sends it: the dispatched attempt, the worker's credential. */
  const workerReport = async (job: string | JobRef, value: Record<string, unknown> = {}, token: string | null = workerToken) =>
    bus.publish(topics.results, [
      {
        key: typeof job === 'string' ? job : job.jobId,
        value: {
          job_id: typeof job === 'string' ? job : job.jobId,
          ...(typeof job === 'string' ? {} : { tenant: job.tenant }),
          idempotency_key: await keyOf(job),
          attempt: 1,
          status: 'succeeded',
          worker: 'w',
          ...value,
        },
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
      },
    ]);
  const notify = (topic: string, jobId: string, value: unknown = { job_id: jobId }) => bus.publish(topic, [{ key: jobId, value }]);
  const now = () => clock.now();

  beforeAll(async () => {
    db = await createTestDatabase('dispatch');
    const config = testConfig({
      EVENT_STORE_URL: db.url,
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      DISPATCH_GRACE_MS: String(GRACE_MS),
      WORKER_ACK_TIMEOUT_MS: String(ACK_MS),
      WORKER_RUN_TIMEOUT_MS: String(RUN_MS),
    });
    // The replay loop is off: each test runs a scan itself, with the fixed clock moved by hand.
    app = await createHttpApp(DispatchServiceModule.forRoot(config, { clock, replay: false, maxAttempts: MAX_ATTEMPTS, instanceId: 'dispatch-int', signingKeys: testKeys().keys }), {
      service: 'dispatch-int',
      logger: new JsonLogger('dispatch-int', 'error'),
    });
    await connectMessageBus(app, config, groupId);
    await app.startAllMicroservices();
    await app.init();
    store = app.get(EventStore);
    commands = app.get(JobCommandHandler);
    await activateTestPolicy(store);
    bus = app.get(MessageBus, { strict: false });
    metrics = app.get(SignoffMetrics);
    replay = app.get(ReplayConsumer);
    recorder = await TopicRecorder.start(bus, topics.dispatch);
    refused = await TopicRecorder.start(bus, topics.resultsDlq);
    workerToken = await testWorkerToken('worker-7');
  });

  afterAll(async () => {
    await recorder?.stop();
    await refused?.stop();
    await app?.close();
    await db?.drop();
  });

  it('publishes an allowed job once with the §6 value and headers, then records JobDispatched at the offset the broker gave', async () => {
    const job = await submitTestJob(commands, 'allow-1', 'allow', {}, now());
    await notify(topics.evaluated, 'allow-1', { job_id: 'allow-1', decision: 'allow', rule_id: 'r' });
    await waitFor(async () => (await eventTypes(store, 'allow-1')).includes('JobDispatched'), 'JobDispatched');
    await settle();
    const [message] = recorder.forJob('allow-1');
    expect(recorder.forJob('allow-1')).toHaveLength(1);
    const key = await keyOf('allow-1');
    expect(key).toMatch(/^allow-1:[A-Za-z0-9_-]{22}$/);
    expect(message.json).toStrictEqual({
      job_id: 'allow-1',
      topic: job.request.topic,
      priority: 'high',
      tenant: 'default',
      labels: { env: 'dev' },
      payload: { amount: 1200, currency: 'EUR', note: 'ünïcødé ✓' },
      attempt: 1,
      idempotency_key: key,
      submitted_by: 'agent-7',
      job_hash: job.jobHash,
      policy_snapshot: expect.stringMatching(/^sha256:/),
    });
    expect(message.headers).toStrictEqual({ 'idempotency-key': key, 'job-hash': job.jobHash, 'signoff-grant': expect.any(String) });
    // The grant is signed with the control plane's key and covers what the message says.
    const grant = await VerificationKeySet.from(testKeys().keys.publicJwks()).verify(message.headers['signoff-grant'], { typ: DISPATCH_GRANT_TYP, now: now() });
    expect(grant.kid).toBe(testKeys().keys.currentKid);
    expect(grant.payload).toMatchObject({ job_id: 'allow-1', tenant: 'default', job_hash: job.jobHash, decision: 'allow', approval_id: null, attempt: 1, idempotency_key: key });
    const [claim] = await eventsOf(store, 'allow-1', 'DispatchClaimed');
    expect(claim).toEqual({ job_id: 'allow-1', attempt: 1, idempotency_key: key, claimed_by: 'dispatch-int' });
    const [dispatched] = await eventsOf(store, 'allow-1', 'JobDispatched');
    expect(dispatched).toEqual({
      job_id: 'allow-1',
      attempt: 1,
      idempotency_key: key,
      topic: topics.dispatch,
      partition: message.partition,
      offset: message.offset,
    });
    // A redelivered notification publishes nothing more.
    await notify(topics.evaluated, 'allow-1', { job_id: 'allow-1', decision: 'allow' });
    await settle();
    expect(recorder.forJob('allow-1')).toHaveLength(1);
    expect(await metric('signoff_jobs_dispatched_total')).toBeGreaterThanOrEqual(1);
  });

  it('publishes an approved job with its approval and approval_granted: true, and observes approval -> dispatch', async () => {
    const job = await submitTestJob(commands, 'approved-1', 'require_human', {}, now());
    const approvalId = await approveTestJob(commands, job, now());
    clock.advance(1500);
    await notify(topics.approved, 'approved-1', { job_id: 'approved-1', approval_id: approvalId });
    await waitFor(async () => (await eventTypes(store, 'approved-1')).includes('JobDispatched'), 'JobDispatched');
    await settle();
    const [message] = recorder.forJob('approved-1');
    expect(message.json).toMatchObject({
      job_id: 'approved-1',
      approval: { approval_id: approvalId, approved_by: ['rita'], policy_snapshot: expect.stringMatching(/^sha256:/), job_hash: job.jobHash },
      attempt: 1,
      idempotency_key: await keyOf('approved-1'),
    });
    expect(message.headers).toStrictEqual({ approval_granted: 'true', 'idempotency-key': await keyOf('approved-1'), 'job-hash': job.jobHash, 'signoff-grant': expect.any(String) });
    expect(decodeJwt(message.headers['signoff-grant'])).toMatchObject({ decision: 'approved', approval_id: approvalId, approved_by: ['rita'] });
    expect(await metric('signoff_approval_to_dispatch_seconds_count')).toBe(1);
    expect(await metric('signoff_approval_to_dispatch_seconds_sum')).toBeCloseTo(1.5, 3);
  });

  it('edit before approve: a grant bound to an amended request is dispatched with the amendment and its hash, and the worker SDK accepts it', async () => {
    const job = await submitTestJob(commands, 'amended-1', 'require_human', {}, now());
    const amended = normalizeJobRequest({ ...job.request, payload: { amount: 900, currency: 'EUR', note: 'lowered by rita' } });
    const amendedHash = jobHash(amended);
    const { result } = await commands.execute(job.ref, (): ApproveJob => ({
      type: 'ApproveJob',
      data: {
        job_id: job.jobId,
        reviewer: 'rita',
        reviewer_roles: ['reviewer'],
        reason: 'lower amount',
        active_policy_snapshot: TEST_SNAPSHOT,
        current_job_hash: job.jobHash,
        approval_id: 'approval-amended-1',
        amendment: { request: amended, job_hash: amendedHash, evaluation: { decision: 'require_human', rule_id: 'rule-require_human', reason: 'r', requirement: { required: 1, reviewers: [], timeout_ms: 3_600_000, on_timeout: 'reject' } } },
      },
      metadata: { commandId: 'amend-1', correlationId: 'amend-1', actor: 'rita', now: now().toISOString() },
    }));
    expect(result).toMatchObject({ ok: true, outcome: { status: 'approved', approved_job_hash: amendedHash } });
    await notify(topics.approved, 'amended-1', { job_id: 'amended-1', approval_id: 'approval-amended-1' });
    await waitFor(async () => (await eventTypes(store, 'amended-1')).includes('JobDispatched'), 'JobDispatched');
    await settle();
    const [message] = recorder.forJob('amended-1');
    expect(message.json).toMatchObject({
      job_id: 'amended-1',
      payload: { amount: 900, currency: 'EUR', note: 'lowered by rita' },
      job_hash: amendedHash,
      approval: { approval_id: 'approval-amended-1', approved_by: ['rita'], job_hash: amendedHash },
    });
    expect(message.headers['job-hash']).toBe(amendedHash);
    expect(decodeJwt(message.headers['signoff-grant'])).toMatchObject({ job_hash: amendedHash, decision: 'approved' });
    // The worker runs what was approved: the SDK recomputes the amendment's hash from the message.
    const verified = await verifyDispatch({ value: message.json, headers: message.headers, key: message.key }, VerificationKeySet.from(testKeys().keys.publicJwks()), { now: now() });
    expect(verified).toMatchObject({ ok: true, job: { job_hash: amendedHash, payload: { amount: 900 } } });
  });

  it('never publishes denied, unapproved, rejected or unknown jobs, whatever the notifications claim (invariants 1 and 2)', async () => {
    await submitTestJob(commands, 'denied-1', 'deny', {}, now());
    await submitTestJob(commands, 'waiting-1', 'require_human', {}, now());
    const rejected = await submitTestJob(commands, 'rejected-1', 'require_human', {}, now());
    await rejectTestJob(commands, rejected);
    const before = recorder.messages.length;
    const [deadEvaluated, deadApproved] = await Promise.all([TopicRecorder.start(bus, topics.evaluatedDlq), TopicRecorder.start(bus, topics.approvedDlq)]);
    for (const id of ['denied-1', 'waiting-1', 'rejected-1', 'never-recorded-throttled-1']) {
      // Forged and stale notifications on both topics: the stream is what counts.
      await notify(topics.evaluated, id, { job_id: id, decision: 'allow' });
      await notify(topics.approved, id, { job_id: id, approval_id: 'forged' });
    }
    await notify(topics.evaluated, 'x', { job_id: 'y' });
    await notify(topics.approved, 'not a valid id!', null);
    await settle();
    expect(recorder.messages.length).toBe(before);
    // Unusable notifications are dead-lettered; stale or forged ones about real job ids are only hints.
    await waitFor(() => deadEvaluated.messages.length >= 1 && deadApproved.messages.length >= 1, 'the unusable notifications on their DLQs');
    await Promise.all([deadEvaluated.stop(), deadApproved.stop()]);
    expect(deadEvaluated.messages.map((m) => [m.key, m.headers['error-code']])).toEqual([['x', 'invalid_request']]);
    expect(deadApproved.messages.map((m) => [m.key, m.headers['error-code']])).toEqual([['not a valid id!', 'invalid_request']]);
    for (const id of ['denied-1', 'waiting-1', 'rejected-1']) {
      expect(await eventTypes(store, id)).not.toContain('DispatchClaimed');
    }
    expect(await store.readStream(toJobStreamId({ tenant: 'default', jobId: 'never-recorded-throttled-1' }))).toEqual([]);
    // The replay consumer does not pick them up either, however long they wait.
    clock.advance(ACK_MS * 10);
    await replay.scanOnce();
    clock.advance(-ACK_MS * 10);
    await settle();
    expect(recorder.messages.filter((m) => ['denied-1', 'waiting-1', 'rejected-1'].includes(m.key ?? ''))).toEqual([]);
  });

  it('consumes every partition of jobs.evaluated, jobs.approved and jobs.results (one consumer for all patterns of the group)', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => `spread-${i}`);
    for (const [i, id] of ids.entries()) {
      const job = await submitTestJob(commands, id, i % 2 === 0 ? 'allow' : 'require_human', {}, now());
      if (i % 2 === 1) await approveTestJob(commands, job, now());
    }
    await Promise.all(ids.map((id, i) => notify(i % 2 === 0 ? topics.evaluated : topics.approved, id)));
    await settle();
    const partitions = new Set(ids.map((id) => recorder.forJob(id)[0]?.partition));
    expect(ids.every((id) => recorder.forJob(id).length === 1)).toBe(true);
    expect(partitions.size).toBe(6);
    await Promise.all(ids.map((id) => workerReport(id, { result: { ok: 1 } })));
    await settle();
    for (const id of ids) expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: id }))))).toBe('SUCCEEDED');
  });

  it('the same job id in two tenants: each notification names its tenant, each job is dispatched with its own key, each result reaches its own job', async () => {
    const acme = await submitTestJob(commands, 'twin-1', 'allow', { tenant: 'acme', payload: { who: 'acme' } }, now());
    const globex = await submitTestJob(commands, 'twin-1', 'require_human', { tenant: 'globex', payload: { who: 'globex' } }, now());
    expect(acme.jobHash).not.toBe(globex.jobHash);
    await approveTestJob(commands, globex, now());
    await notify(topics.evaluated, 'twin-1', { job_id: 'twin-1', tenant: 'acme', decision: 'allow' });
    await notify(topics.approved, 'twin-1', { job_id: 'twin-1', tenant: 'globex', approval_id: 'approval-twin-1' });
    // A notification without a tenant names the default tenant, where no such job exists: nothing is published for it.
    await notify(topics.evaluated, 'twin-1', { job_id: 'twin-1', decision: 'allow' });
    await settle();
    const published = recorder.forJob('twin-1').map((m) => m.json as { tenant: string; idempotency_key: string; payload: { who: string } });
    const acmeKey = await keyOf(acme.ref);
    const globexKey = await keyOf(globex.ref);
    expect(acmeKey).toMatch(/^acme\|twin-1:/);
    expect(globexKey).toMatch(/^globex\|twin-1:/);
    expect(published.map((m) => [m.tenant, m.idempotency_key, m.payload.who]).sort()).toEqual([
      ['acme', acmeKey, 'acme'],
      ['globex', globexKey, 'globex'],
    ]);
    expect(await eventsOf(store, acme.ref, 'JobDispatched')).toHaveLength(1);
    expect(await eventsOf(store, globex.ref, 'JobDispatched')).toHaveLength(1);
    // Each worker report names the tenant of the dispatch it ran.
    const report = (value: Record<string, unknown>) => ({ key: 'twin-1', value: { job_id: 'twin-1', attempt: 1, worker: 'w', ...value }, headers: { authorization: `Bearer ${workerToken}` } });
    await bus.publish(topics.results, [
      report({ tenant: 'globex', idempotency_key: globexKey, status: 'succeeded', result: { who: 'globex' } }),
      report({ tenant: 'acme', idempotency_key: acmeKey, status: 'failed', error: 'acme failed' }),
      // Another tenant's key for this job: refused by the decider, changes nothing.
      report({ tenant: 'acme', idempotency_key: globexKey, status: 'succeeded' }),
    ]);
    await settle();
    expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId(globex.ref))))).toBe('SUCCEEDED');
    expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId(acme.ref))))).toBe('FAILED');
    expect(await eventsOf(store, globex.ref, 'JobCompleted')).toMatchObject([{ status: 'succeeded', result: { who: 'globex' } }]);
    expect(await eventsOf(store, acme.ref, 'JobCompleted')).toMatchObject([{ status: 'failed', error: 'acme failed' }]);
    expect(await eventTypes(store, 'twin-1')).toEqual([]);
  });

  it('records worker results; invalid or refused reports are dead-lettered with their code without blocking the partition, and change no job', async () => {
    await submitTestJob(commands, 'results-1', 'allow', {}, now());
    await notify(topics.evaluated, 'results-1');
    await settle();
    const key = await keyOf('results-1');
    const report = (value: unknown, id: string | null = 'results-1') =>
      bus.publish(topics.results, [{ key: id ?? '', value, headers: { authorization: `Bearer ${workerToken}` } }]);
    await report(Buffer.from('not json'));
    await report({ job_id: 'results-1', idempotency_key: key, attempt: 1, status: 'exploded' });
    await report({ job_id: 'results-2', idempotency_key: key, attempt: 1, status: 'started', worker: 'w' }, 'results-1');
    await report({ job_id: 'unknown-job', idempotency_key: 'k', attempt: 1, status: 'started', worker: 'w' }, 'unknown-job');
    await report({ job_id: 'results-1', idempotency_key: key, attempt: 1, status: 'started', worker: 'worker-7' });
    await report({ job_id: 'results-1', idempotency_key: key, attempt: 1, status: 'succeeded', result: { receipt: 'r-1' }, worker: 'worker-7' });
    await report({ job_id: 'results-1', idempotency_key: key, attempt: 1, status: 'succeeded', result: { receipt: 'r-1' }, worker: 'worker-7' });
    await report({ job_id: 'results-1', idempotency_key: key, attempt: 1, status: 'failed', error: 'late contradiction', worker: 'worker-8' });
    await settle();
    expect(await eventTypes(store, 'results-1')).toEqual([
      'JobSubmitted',
      'PolicyEvaluated',
      'DispatchClaimed',
      'JobDispatched',
      'JobStarted',
      'JobCompleted',
    ]);
    expect(await eventsOf(store, 'results-1', 'JobStarted')).toEqual([{ job_id: 'results-1', idempotency_key: key, worker: 'worker-7' }]);
    expect(await eventsOf(store, 'results-1', 'JobCompleted')).toEqual([
      { job_id: 'results-1', idempotency_key: key, status: 'succeeded', result: { receipt: 'r-1' } },
    ]);
    // The actor of the recorded reports is the credential's subject.
    const started = (await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: 'results-1' }))).find((e) => e.type === 'JobStarted')!;
    expect(started.metadata.actor).toBe('worker-7');
    const dead = (key: string) => refused.messages.filter((m) => m.key === key).map((m) => m.headers['error-code']);
    expect(dead('results-1')).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'invalid_request']);
    expect(dead('unknown-job')).toEqual(['not_found']);
    for (const m of refused.messages.filter((l) => l.key === 'results-1' || l.key === 'unknown-job')) {
      expect(m.headers['error-detail']).toBeTruthy();
      expect(m.headers['original-topic']).toBe(topics.results);
    }
    expect(await eventTypes(store, 'unknown-job')).toEqual([]);
  });

  it('a result the store refuses (a NUL byte in `result`) between two good ones is dead-lettered at once; both good ones are recorded', async () => {
    // Before: the append failed with SQLSTATE 22P05 on every redelivery and the partition was stuck.
    for (const id of ['nul-good', 'nul-poison']) {
      await submitTestJob(commands, id, 'allow', {}, now());
      await notify(topics.evaluated, id);
    }
    await settle();
    const keys = { good: await keyOf('nul-good'), poison: await keyOf('nul-poison') };
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    // One partition for all three, so the poison sits between the good ones in the same log.
    const send = (key: string, value: unknown) => producer.send({ topic: topics.results, messages: [{ key, partition: 0, value: JSON.stringify(value), headers: { authorization: `Bearer ${workerToken}` } }] });
    try {
      await send('nul-good', { job_id: 'nul-good', idempotency_key: keys.good, attempt: 1, status: 'started', worker: 'w-1' });
      await send('nul-poison', { job_id: 'nul-poison', idempotency_key: keys.poison, attempt: 1, status: 'succeeded', result: { note: 'a\u0000b' }, worker: 'w-1' });
      await waitFor(async () => (await eventTypes(store, 'nul-good')).includes('JobStarted'), 'the first good report');
      // The second good report comes in a later fetch: it is only consumed if the partition moved on.
      await send('nul-good', { job_id: 'nul-good', idempotency_key: keys.good, attempt: 1, status: 'succeeded', result: { receipt: 'r-9' }, worker: 'w-1' });
      await waitFor(async () => (await eventTypes(store, 'nul-good')).includes('JobCompleted'), 'the second good report', 20_000);
      await waitFor(() => refused.forJob('nul-poison').length === 1, 'the poison report on the DLQ');
    } finally {
      await producer.disconnect();
    }
    const [letter] = refused.forJob('nul-poison');
    expect(letter.headers).toMatchObject({ 'error-code': 'invalid_request', 'original-topic': topics.results, 'original-partition': '0' });
    // Refused before the store (main's validateMessage finds NUL bytes), naming the field.
    expect(letter.headers['error-detail']).toMatch(/result\.note.*NUL/);
    expect(letter.headers.authorization).toBeUndefined();
    expect(letter.headers['error-detail']).not.toMatch(/SQLSTATE|jsonb|unicode escape/i);
    expect(JSON.parse(letter.value!.toString('utf8'))).toMatchObject({ job_id: 'nul-poison', result: { note: 'a\u0000b' } });
    expect(await eventTypes(store, 'nul-poison')).not.toContain('JobCompleted');
    expect(await eventsOf(store, 'nul-good', 'JobCompleted')).toEqual([{ job_id: 'nul-good', idempotency_key: keys.good, status: 'succeeded', result: { receipt: 'r-9' } }]);
    // The poison changed nothing: the worker's valid report of that job is still recorded.
    await workerReport('nul-poison', { status: 'succeeded', result: { note: 'ab' }, worker: 'w-1' });
    await waitFor(async () => (await eventTypes(store, 'nul-poison')).includes('JobCompleted'), 'the valid report of the poisoned job');
    expect(await eventsOf(store, 'nul-poison', 'JobCompleted')).toEqual([{ job_id: 'nul-poison', idempotency_key: keys.poison, status: 'succeeded', result: { note: 'ab' } }]);
    expect(await metrics.text()).toMatch(new RegExp(`signoff_messages_dead_lettered_total\\{topic="${topics.results.replace(/\./g, '\\.')}",code="invalid_request"\\} [1-9]`));
  });

  it('refuses results nobody can prove a worker sent about a dispatch that happened: dead-lettered with a reason, counted, no job changed', async () => {
    const forged: JobRef = { tenant: 'acme', jobId: 'forged-results' };
    await submitTestJob(commands, 'forged-results', 'allow', { tenant: 'acme' }, now());
    await notify(topics.evaluated, 'forged-results', { job_id: 'forged-results', tenant: 'acme' });
    await settle();
    expect(await keyOf(forged)).not.toBe('forged-results:dispatch');
    const before = await eventTypes(store, forged);
    expect(before.at(-1)).toBe('JobDispatched');
    const refusedCount = async (code: string) => (await metric(`signoff_messages_dead_lettered_total{topic="${topics.results}",code="${code}"}`)) || 0;
    const metricBefore = {
      unauthenticated: await refusedCount('unauthenticated'),
      forbidden: await refusedCount('forbidden'),
      not_dispatched: await refusedCount('not_dispatched'),
    };
    // No credential, a token signed with another secret, a credential without the worker role,
    // a worker of another tenant; a worker's credential with the old guessable key, an attempt
    // that was never dispatched.
    await workerReport(forged, { status: 'started' }, null);
    await workerReport(forged, { status: 'started' }, await mintToken('not-the-secret-not-the-secret-0123456789', { sub: 'x', roles: ['worker'] }));
    await workerReport(forged, { status: 'succeeded' }, await tokenFor('agent-7', ['submitter']));
    await workerReport(forged, { status: 'succeeded' }, await testWorkerToken('other-tenant-worker', { tenants: ['globex'] }));
    await workerReport(forged, { status: 'started', idempotency_key: 'forged-results:dispatch' });
    await workerReport(forged, { status: 'succeeded', attempt: 2 });
    await settle();
    expect(await eventTypes(store, forged)).toEqual(before);
    const letters = refused.messages.filter((m) => m.key === 'forged-results');
    expect(letters.map((m) => m.headers['error-code'])).toEqual(['unauthenticated', 'unauthenticated', 'forbidden', 'forbidden', 'not_dispatched', 'not_dispatched']);
    for (const letter of letters) {
      expect(letter.headers['error-detail']).toBeTruthy();
      expect(letter.headers['original-topic']).toBe(topics.results);
      // The credential never reaches the dead-letter topic.
      expect(letter.headers.authorization).toBeUndefined();
    }
    expect(await refusedCount('unauthenticated')).toBe(metricBefore.unauthenticated + 2);
    expect(await refusedCount('forbidden')).toBe(metricBefore.forbidden + 2);
    expect(await refusedCount('not_dispatched')).toBe(metricBefore.not_dispatched + 2);
    // Still DISPATCHED, so the replay consumer still sees it as unacknowledged; the genuine report is recorded.
    await workerReport(forged, { status: 'started', worker: 'worker-7' }, await testWorkerToken('acme-worker', { tenants: ['acme'] }));
    await settle();
    expect(await eventTypes(store, forged)).toEqual([...before, 'JobStarted']);
    await finish(forged);
  });

  it('replays a PENDING job nobody claimed once the grace has passed: DispatchReplayed, then attempt 2 with the same key', async () => {
    await submitTestJob(commands, 'lost-notification', 'allow', {}, now());
    const before = await metric('signoff_jobs_replayed_total');
    clock.advance(GRACE_MS - 1);
    await replay.scanOnce();
    expect(await eventTypes(store, 'lost-notification')).toEqual(['JobSubmitted', 'PolicyEvaluated']);
    clock.advance(1);
    const report = await replay.scanOnce();
    expect(report.replayed).toBeGreaterThanOrEqual(1);
    expect(await eventTypes(store, 'lost-notification')).toEqual(['JobSubmitted', 'PolicyEvaluated', 'DispatchReplayed', 'DispatchClaimed', 'JobDispatched']);
    expect(await eventsOf(store, 'lost-notification', 'DispatchReplayed')).toEqual([{ job_id: 'lost-notification', attempt: 2, reason: 'not_published' }]);
    await settle();
    expect(recorder.forJob('lost-notification').map((m) => m.json)).toMatchObject([{ attempt: 2, idempotency_key: await keyOf('lost-notification') }]);
    expect(await metric('signoff_jobs_replayed_total')).toBe(before + 1);
    await finish('lost-notification');
  });

  it('replays a job claimed by a dispatcher that died before publishing (not_recorded), keeping the key of the first claim', async () => {
    await submitTestJob(commands, 'orphan-claim', 'allow', {}, now());
    await commands.execute({ tenant: 'default', jobId: 'orphan-claim' }, (): ClaimDispatch => ({
      type: 'ClaimDispatch',
      data: { job_id: 'orphan-claim', attempt: 1, idempotency_key: 'orphan-claim:dispatch', claimed_by: 'dispatch-dead' },
      metadata: { commandId: 'c-orphan', correlationId: 'c', actor: 'dispatch-dead', now: now().toISOString() },
    }));
    // A notification for it arriving now finds the claim taken: nothing is published.
    await notify(topics.evaluated, 'orphan-claim');
    await settle();
    expect(recorder.forJob('orphan-claim')).toEqual([]);
    clock.advance(GRACE_MS);
    await replay.scanOnce();
    expect(await eventsOf(store, 'orphan-claim', 'DispatchReplayed')).toEqual([{ job_id: 'orphan-claim', attempt: 2, reason: 'not_recorded' }]);
    expect((await eventsOf(store, 'orphan-claim', 'DispatchClaimed')).map((c) => [c.attempt, c.idempotency_key, c.claimed_by])).toEqual([
      [1, 'orphan-claim:dispatch', 'dispatch-dead'],
      [2, 'orphan-claim:dispatch', 'dispatch-int'],
    ]);
    await settle();
    expect(recorder.forJob('orphan-claim').map((m) => (m.json as { attempt: number }).attempt)).toEqual([2]);
    await finish('orphan-claim');
  });

  it('a replay costs two appends: DispatchReplayed and the claim of the attempt it opens in one, JobDispatched in the other', async () => {
    await submitTestJob(commands, 'two-appends', 'allow', {}, now());
    const stream = toJobStreamId({ tenant: 'default', jobId: 'two-appends' });
    const appends: string[][] = [];
    const original = { single: store.appendToStream.bind(store), multi: store.appendToStreams.bind(store) };
    const spySingle = vi.spyOn(store, 'appendToStream').mockImplementation((name, events, options) => {
      if (name === stream) appends.push(events.map((e) => e.type));
      return original.single(name, events, options);
    });
    const spyMulti = vi.spyOn(store, 'appendToStreams').mockImplementation((batch) => {
      for (const a of batch) if (a.stream === stream) appends.push(a.events.map((e) => e.type));
      return original.multi(batch);
    });
    try {
      clock.advance(GRACE_MS);
      await replay.scanOnce();
    } finally {
      spySingle.mockRestore();
      spyMulti.mockRestore();
    }
    expect(appends).toEqual([['DispatchReplayed', 'DispatchClaimed'], ['JobDispatched']]);
    const events = await store.readStream<JobEvent>(stream);
    const replayed = events.find((e) => e.type === 'DispatchReplayed')!;
    const claimed = events.find((e) => e.type === 'DispatchClaimed')!;
    const dispatched = events.find((e) => e.type === 'JobDispatched')!;
    // One command decided the replay and the claim; the record of the publish is caused by it.
    expect(claimed.metadata).toMatchObject({ causationId: replayed.metadata.causationId, actor: 'dispatch-int' });
    expect(dispatched.metadata).toMatchObject({ causationId: replayed.metadata.causationId });
    expect(claimed.data).toMatchObject({ attempt: 2, claimed_by: 'dispatch-int' });
    await settle();
    expect(recorder.forJob('two-appends').map((m) => m.json)).toMatchObject([{ attempt: 2, idempotency_key: await keyOf('two-appends') }]);
    await finish('two-appends');
  });

  it('replays a published job no worker acknowledged, up to the max attempts, then abandons it (FAILED, metric)', async () => {
    await submitTestJob(commands, 'silent-workers', 'allow', {}, now());
    await notify(topics.evaluated, 'silent-workers');
    await waitFor(async () => (await eventTypes(store, 'silent-workers')).includes('JobDispatched'), 'first dispatch');
    clock.advance(ACK_MS - 1);
    await replay.scanOnce();
    expect(await eventsOf(store, 'silent-workers', 'DispatchReplayed')).toEqual([]);
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++) {
      clock.advance(ACK_MS);
      await replay.scanOnce();
    }
    expect((await eventsOf(store, 'silent-workers', 'DispatchReplayed')).map((r) => [r.attempt, r.reason])).toEqual([
      [2, 'not_acknowledged'],
      [3, 'not_acknowledged'],
    ]);
    clock.advance(ACK_MS);
    await replay.scanOnce();
    expect(await eventsOf(store, 'silent-workers', 'DispatchAbandoned')).toEqual([
      { job_id: 'silent-workers', attempts: 3, max_attempts: 3, reason: 'not_acknowledged' },
    ]);
    expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: 'silent-workers' }))))).toBe('FAILED');
    expect(await metric('signoff_jobs_dispatch_abandoned_total')).toBe(1);
    await settle();
    expect(recorder.forJob('silent-workers').map((m) => (m.json as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(new Set(recorder.forJob('silent-workers').map((m) => m.headers['idempotency-key']))).toEqual(new Set([await keyOf('silent-workers')]));
    // Abandoned is terminal for the dispatcher: no further replay however long it waits.
    clock.advance(ACK_MS * 5);
    await replay.scanOnce();
    expect(await eventsOf(store, 'silent-workers', 'DispatchReplayed')).toHaveLength(2);
  });

  it('a job the broker can never take (message too large) does not block its partition and ends abandoned', async () => {
    await submitTestJob(commands, 'too-large', 'allow', { payload: { blob: 'x'.repeat(1_050_000) } }, now());
    await notify(topics.evaluated, 'too-large');
    await settle();
    expect(recorder.forJob('too-large')).toEqual([]);
    expect((await eventsOf(store, 'too-large', 'DispatchClaimed')).map((c) => c.attempt)).toEqual([1]);
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      clock.advance(GRACE_MS);
      await replay.scanOnce();
    }
    expect((await eventsOf(store, 'too-large', 'DispatchReplayed')).map((r) => [r.attempt, r.reason])).toEqual([
      [2, 'not_recorded'],
      [3, 'not_recorded'],
    ]);
    expect(await eventsOf(store, 'too-large', 'DispatchAbandoned')).toEqual([
      { job_id: 'too-large', attempts: 3, max_attempts: 3, reason: 'not_recorded' },
    ]);
    await settle();
    expect(recorder.forJob('too-large')).toEqual([]);
  });

  it('replays a RUNNING job whose worker went silent (it died mid-run, or its outcome was lost) after WORKER_RUN_TIMEOUT_MS: not_completed', async () => {
    await submitTestJob(commands, 'silent-run', 'allow', {}, now());
    await notify(topics.evaluated, 'silent-run');
    await waitFor(async () => (await eventTypes(store, 'silent-run')).includes('JobDispatched'), 'first dispatch');
    const key = await keyOf('silent-run');
    await workerReport('silent-run', { status: 'started', worker: 'gone-silent' });
    await waitFor(async () => (await eventTypes(store, 'silent-run')).includes('JobStarted'), 'JobStarted');
    // The worker acknowledged it: the acknowledgement timeout no longer applies, the run timeout does.
    clock.advance(ACK_MS * 2);
    await replay.scanOnce();
    expect(await eventsOf(store, 'silent-run', 'DispatchReplayed')).toEqual([]);
    clock.advance(RUN_MS - ACK_MS * 2);
    await replay.scanOnce();
    expect(await eventsOf(store, 'silent-run', 'DispatchReplayed')).toEqual([{ job_id: 'silent-run', attempt: 2, reason: 'not_completed' }]);
    await settle();
    expect(recorder.forJob('silent-run').map((m) => [(m.json as { attempt: number }).attempt, m.headers['idempotency-key']])).toEqual([
      [1, key],
      [2, key],
    ]);
    await finish('silent-run');
  });

  it('records an unknown report as JobOutcomeUnknown (UNKNOWN), which is never replayed; a started job whose replays run out is UNKNOWN, not FAILED', async () => {
    await submitTestJob(commands, 'reported-unknown', 'allow', {}, now());
    await notify(topics.evaluated, 'reported-unknown');
    await waitFor(async () => (await eventTypes(store, 'reported-unknown')).includes('JobDispatched'), 'first dispatch');
    const before = await metric('signoff_jobs_outcome_unknown_total');
    const key = await keyOf('reported-unknown');
    const unknown = { status: 'unknown', error: 'the lease of w1 (run 1) expired after its side effect began', fencing_token: 1, worker: 'w2' };
    // An `unknown` is checked like every report: no credential, a credential without the worker
    // role, a worker of another tenant, the old guessable key, an attempt never dispatched.
    const lettersBefore = refused.messages.filter((m) => m.key === 'reported-unknown').length;
    await workerReport('reported-unknown', unknown, null);
    await workerReport('reported-unknown', unknown, await tokenFor('agent-7', ['submitter']));
    await workerReport('reported-unknown', unknown, await testWorkerToken('other-tenant-worker', { tenants: ['globex'] }));
    await workerReport('reported-unknown', { ...unknown, idempotency_key: 'reported-unknown:dispatch' });
    await workerReport('reported-unknown', { ...unknown, attempt: 2 });
    await settle();
    expect(await eventsOf(store, 'reported-unknown', 'JobOutcomeUnknown')).toEqual([]);
    expect(refused.messages.filter((m) => m.key === 'reported-unknown').slice(lettersBefore).map((m) => m.headers['error-code'])).toEqual([
      'unauthenticated',
      'forbidden',
      'forbidden',
      'not_dispatched',
      'not_dispatched',
    ]);
    expect(await metric('signoff_jobs_outcome_unknown_total')).toBe(before);
    // The genuine one, twice (a redelivery): recorded once.
    await workerReport('reported-unknown', unknown);
    await workerReport('reported-unknown', unknown);
    await settle();
    expect(await eventsOf(store, 'reported-unknown', 'JobOutcomeUnknown')).toEqual([
      { job_id: 'reported-unknown', idempotency_key: key, worker: 'w2', reason: unknown.error, fencing_token: 1 },
    ]);
    expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: 'reported-unknown' }))))).toBe('UNKNOWN');
    expect(await metric('signoff_jobs_outcome_unknown_total')).toBe(before + 1);
    clock.advance(RUN_MS * 3);
    await replay.scanOnce();
    expect(await eventsOf(store, 'reported-unknown', 'DispatchReplayed')).toEqual([]);

    await submitTestJob(commands, 'started-exhausted', 'allow', {}, now());
    await notify(topics.evaluated, 'started-exhausted');
    await waitFor(async () => (await eventTypes(store, 'started-exhausted')).includes('JobDispatched'), 'first dispatch');
    await workerReport('started-exhausted', { status: 'started', worker: 'w-gone' });
    await waitFor(async () => (await eventTypes(store, 'started-exhausted')).includes('JobStarted'), 'JobStarted');
    clock.advance(RUN_MS);
    await replay.scanOnce();
    for (let attempt = 3; attempt <= MAX_ATTEMPTS + 1; attempt++) {
      clock.advance(ACK_MS);
      await replay.scanOnce();
    }
    expect((await eventsOf(store, 'started-exhausted', 'DispatchReplayed')).map((r) => [r.attempt, r.reason])).toEqual([
      [2, 'not_completed'],
      [3, 'not_acknowledged'],
    ]);
    expect(await eventsOf(store, 'started-exhausted', 'DispatchAbandoned')).toEqual([]);
    expect(await eventsOf(store, 'started-exhausted', 'JobOutcomeUnknown')).toMatchObject([
      { job_id: 'started-exhausted', idempotency_key: await keyOf('started-exhausted'), worker: 'w-gone', reason: expect.stringMatching(/no outcome after 3 dispatch attempts/) },
    ]);
    expect(apiStateOf(foldJob(await store.readStream<JobEvent>(toJobStreamId({ tenant: 'default', jobId: 'started-exhausted' }))))).toBe('UNKNOWN');
    expect(await metric('signoff_jobs_outcome_unknown_total')).toBe(before + 2);
  });

  it('lists what it would replay without changing anything (CLI dry run), and rebuilds its projection from position 0', async () => {
    await submitTestJob(commands, 'dry-1', 'allow', {}, now());
    const job = await submitTestJob(commands, 'dry-2', 'require_human', {}, now());
    await approveTestJob(commands, job, now());
    const all = await store.readAll();
    const candidates = await listReplayCandidates({
      store,
      graceMs: GRACE_MS,
      workerAckTimeoutMs: ACK_MS,
      workerRunTimeoutMs: RUN_MS,
      maxAttempts: MAX_ATTEMPTS,
      now: new Date(now().getTime() + GRACE_MS),
    });
    expect(candidates.filter((c) => c.job_id.startsWith('dry-'))).toMatchObject([
      { job_id: 'dry-1', stage: 'pending', reason: 'not_published', attempt: 1, action: 'replay' },
      { job_id: 'dry-2', stage: 'pending', reason: 'not_published', attempt: 1, action: 'replay' },
    ]);
    expect(candidates.some((c) => ['denied-1', 'waiting-1', 'rejected-1', 'silent-workers'].includes(c.job_id))).toBe(false);
    expect((await store.readAll()).length).toBe(all.length);

    await replay.catchUp();
    const live = [...replay.projection.all()].map((s) => ({ ...s })).sort((a, b) => a.job_id.localeCompare(b.job_id));
    expect(await replay.rebuild()).toBeGreaterThan(0);
    expect([...replay.projection.all()].map((s) => ({ ...s })).sort((a, b) => a.job_id.localeCompare(b.job_id))).toEqual(live);
  });

  it('the replay consumer voids, never replays, a grant made under a policy no longer active at its position (no notification)', async () => {
    // Another instance activated another policy; an approval instance that had not seen it grants under the test policy.
    const other = await activateTestPolicy(store, `${TEST_POLICY_YAML}  - id: allow-reports\n    when: {topic: reports.read}\n    decision: allow\n`);
    const job = await submitTestJob(commands, 'stale-grant', 'require_human', {}, now());
    await approveTestJob(commands, job, now());
    await activateTestPolicy(store); // the test policy again, after the grant: it does not save it
    const before = await metric('signoff_approvals_snapshot_mismatch_total');
    clock.advance(GRACE_MS);
    const report = await replay.scanOnce();
    expect(report.invalidated).toBe(1);
    expect(await eventTypes(store, 'stale-grant')).toEqual([
      'JobSubmitted',
      'PolicyEvaluated',
      'ApprovalRequested',
      'ApprovalVoteRecorded',
      'ApprovalGranted',
      'ApprovalInvalidated',
    ]);
    expect(await eventsOf(store, 'stale-grant', 'ApprovalInvalidated')).toEqual([
      { job_id: 'stale-grant', approval_ref: 'apr_stale-grant', code: 'snapshot_changed', expected: TEST_SNAPSHOT, current: other },
    ]);
    expect(await metric('signoff_approvals_snapshot_mismatch_total')).toBe(before + 1);
    expect(replay.projection.get({ tenant: 'default', jobId: 'stale-grant' })).toBeUndefined();
    // A late notification and later scans change nothing.
    await notify(topics.approved, 'stale-grant');
    clock.advance(GRACE_MS * 3);
    await replay.scanOnce();
    await settle();
    expect(recorder.forJob('stale-grant')).toEqual([]);
    expect(await eventTypes(store, 'stale-grant')).not.toContain('DispatchReplayed');
  });

  /** A worker reports the job done, so later scans leave it alone. */
  async function finish(job: string | JobRef): Promise<void> {
    const attempt = Math.max(...(await eventsOf(store, job, 'DispatchClaimed')).map((c) => c.attempt));
    await workerReport(job, { attempt });
    await settle();
  }
});
