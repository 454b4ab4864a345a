import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { InboundMessage, InMemoryMessageBus } from '@signoff/messaging';
import { jobHash } from '@signoff/policy-engine';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/infra';
import { testKeys, withGrant } from '../../../test/support/keys';
import { openClaimStore } from './claim-store.factory';
import { ClaimStore, CompleteResult, Lease, StoredOutcome } from './claim-store.port';
import { SqlClaimStore } from './sql-claim.store';
import { ClaimBusyError, createWorker, JobContext, LeaseLostError, Worker } from './worker';

const LEASE_MS = 600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SQL claim store with a switch that makes renewals and completions fail as an unreachable database does. */
class FlakyClaims extends SqlClaimStore {
  unreachable = false;
  hangRenewals = false;
  override async renew(lease: Lease, leaseMs: number): Promise<boolean> {
    if (this.hangRenewals) return new Promise<boolean>(() => undefined);
    if (this.unreachable) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return super.renew(lease, leaseMs);
  }
  override async complete(lease: Lease, outcome: StoredOutcome): Promise<CompleteResult> {
    if (this.unreachable) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return super.complete(lease, outcome);
  }
}

function message(jobId: string): InboundMessage {
  const request = { topic: 'customer.notify', priority: 'normal', tenant: 't1', submitted_by: 'agent', labels: {}, payload: { n: jobId } };
  const key = `${jobId}:dispatch`;
  return {
    topic: 'signoff.jobs.dispatch',
    partition: 0,
    offset: '0',
    key: jobId,
    value: Buffer.from(JSON.stringify({ job_id: jobId, ...request, attempt: 1, idempotency_key: key })),
    headers: { 'idempotency-key': key, 'job-hash': jobHash(request) },
    timestamp: '0',
  };
}

const WORKER_TOKEN = 'lease-worker-credential';
/** What every worker of these tests trusts and presents (the grant keys, its credential). */
const trust = () => ({ grantKeys: testKeys().keys.publicJwks(), workerToken: WORKER_TOKEN });

/** The dispatch message as the dispatcher publishes it: with its signed grant. */
async function signed(jobId: string): Promise<InboundMessage> {
  const unsigned = message(jobId);
  const value = JSON.parse(unsigned.value!.toString()) as Record<string, unknown>;
  const granted = await withGrant({ key: jobId, value, headers: unsigned.headers });
  return { ...unsigned, headers: { ...unsigned.headers, ...granted.headers } };
}

describe('the worker under a lost lease (PostgreSQL, in-process bus)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  let bus: InMemoryMessageBus;
  let other: ClaimStore;
  const reports: Array<{ job_id: string; status: string; worker: string; error?: string; fencing_token?: number; attempt: number; tenant?: string; authorization?: string }> = [];
  const workers: Worker[] = [];

  const worker = async (claims: ClaimStore, handler: (job: unknown, context: JobContext) => unknown, idempotent = false) => {
    const w = await createWorker({ bus, claims, workerId: 'w1', leaseMs: LEASE_MS, log: () => undefined, ...trust(), idempotent, handler });
    workers.push(w);
    return w;
  };
  const reportsOf = (jobId: string) => reports.filter((r) => r.job_id === jobId).map((r) => r.status);

  beforeAll(async () => {
    db = await createTestDatabase('wlease');
    pool = new Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    bus = new InMemoryMessageBus();
    await bus.subscribe({ groupId: 'results', topics: ['signoff.jobs.results'], handler: async (m) => void reports.push({ ...JSON.parse(m.value!.toString()), authorization: m.headers.authorization }) });
    other = await openClaimStore(db.url);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await other?.close();
    await pool?.end();
    await bus?.close();
    await db?.drop();
  });

  it('renewals cannot reach the database: the signal fires while the lease still holds, and the outcome is stored once the database answers', async () => {
    const claims = new FlakyClaims(pool);
    let firedAfter = -1;
    let busyWhenFired: string | null = null;
    let startedAt = 0;
    const jobId = `flaky-${randomUUID()}`;
    const w = await worker(claims, async (_job, context) => {
      startedAt = performance.now();
      claims.unreachable = true;
      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      firedAfter = performance.now() - startedAt;
      // No other worker can take the key over yet: the signal came before the lease's expiry.
      const claim = await other.claim({ key: `${jobId}:dispatch`, jobId, jobHash: message(jobId).headers['job-hash'], owner: 'w2', leaseMs: 1000, mode: 'external' });
      busyWhenFired = claim.status;
      setTimeout(() => (claims.unreachable = false), 300);
      return 'done';
    });
    expect(await w.process(await signed(jobId))).toBe('ran');
    expect(firedAfter).toBeGreaterThan(0);
    expect(firedAfter).toBeLessThan(LEASE_MS);
    expect(busyWhenFired).toBe('busy');
    expect(await other.get(`${jobId}:dispatch`)).toMatchObject({ status: 'succeeded', runs: 1, result: 'done' });
    expect(reportsOf(jobId)).toEqual(['started', 'succeeded']);
  });

  it('external: a handler that gives up after its signal fired is not `failed`: the claim is marked unknown and reported so', async () => {
    const claims = new FlakyClaims(pool);
    const jobId = `gaveup-${randomUUID()}`;
    const w = await worker(claims, async (_job, context) => {
      claims.hangRenewals = true;
      await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
      throw new Error('aborted mid-transfer');
    });
    expect(await w.process(await signed(jobId))).toBe('unknown');
    expect(await other.get(`${jobId}:dispatch`)).toMatchObject({ status: 'unknown', error: expect.stringMatching(/lost its lease .* aborted mid-transfer/) });
    expect(reportsOf(jobId)).toEqual(['started', 'unknown']);
    // Like every report: the attempt it answers, the job's tenant, the worker's credential.
    expect(reports.find((r) => r.job_id === jobId && r.status === 'unknown')).toMatchObject({
      worker: 'w1',
      fencing_token: 1,
      attempt: 1,
      tenant: 't1',
      idempotency_key: `${jobId}:dispatch`,
      authorization: `Bearer ${WORKER_TOKEN}`,
    });
  });

  it('idempotent: a handler that gives up after its signal fired frees the key; the redelivery runs it again with a higher fencing token', async () => {
    const claims = new FlakyClaims(pool);
    const jobId = `idem-${randomUUID()}`;
    const tokens: number[] = [];
    const w = await worker(
      claims,
      async (_job, context) => {
        tokens.push(context.fencingToken);
        if (tokens.length === 1) {
          claims.hangRenewals = true;
          await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
          claims.hangRenewals = false;
          throw new Error('gave up');
        }
        return { applied_with: context.fencingToken };
      },
      true,
    );
    await expect(w.process(await signed(jobId))).rejects.toBeInstanceOf(LeaseLostError);
    expect(await w.process(await signed(jobId))).toBe('ran');
    expect(tokens).toEqual([1, 2]);
    expect(await other.get(`${jobId}:dispatch`)).toMatchObject({ status: 'succeeded', runs: 2, mode: 'idempotent', result: { applied_with: 2 } });
  });

  it('a worker presumed dead (it stalled past its lease) is fenced out: its late outcome is not stored, the unknown stands', async () => {
    const claims = new FlakyClaims(pool);
    const jobId = `stalled-${randomUUID()}`;
    const w = await worker(claims, async (_job, context) => {
      claims.hangRenewals = true;
      await sleep(LEASE_MS + 100);
      // Another worker finds the expired lease of an effect that began: it marks it unknown.
      const found = await other.claim({ key: context.idempotencyKey, jobId, jobHash: message(jobId).headers['job-hash'], owner: 'w2', leaseMs: 1000, mode: 'external' });
      expect(found).toMatchObject({ status: 'unknown', marked: true });
      return 'late';
    });
    expect(await w.process(await signed(jobId))).toBe('lease_lost');
    expect(await other.get(`${jobId}:dispatch`)).toMatchObject({ status: 'unknown', owner: 'w1' });
    expect(reportsOf(jobId)).toEqual(['started', 'unknown']);
    expect(reports.filter((r) => r.job_id === jobId).every((r) => r.attempt === 1 && r.authorization === `Bearer ${WORKER_TOKEN}`)).toBe(true);
  });

  it('a key whose claim is live elsewhere is busy (retried by the bus), and the transactional mode refuses a lone pg Client', async () => {
    const jobId = `busy-${randomUUID()}`;
    const held = await other.claim({
      key: `${jobId}:dispatch`,
      jobId,
      jobHash: message(jobId).headers['job-hash'],
      owner: 'elsewhere',
      leaseMs: 30_000,
      mode: 'external',
    });
    expect(held.status).toBe('claimed');
    const w = await worker(await openClaimStore(pool), async () => 'never');
    await expect(w.process(await signed(jobId))).rejects.toBeInstanceOf(ClaimBusyError);

    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await expect(createWorker({ bus, db: client, mode: 'transactional', ...trust(), handler: async () => 1, log: () => undefined })).rejects.toThrow(/transactional mode needs/);
    } finally {
      await client.end();
    }
  });

  it('stop() lets a handler under way finish and store its outcome before closing', async () => {
    const claims = await openClaimStore(db.url);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const jobId = `stop-${randomUUID()}`;
    const w = await createWorker({ bus, claims, workerId: 'w1', leaseMs: LEASE_MS, log: () => undefined, ...trust(), handler: async () => (await gate, 'finished') });
    const run = w.process(await signed(jobId));
    await sleep(100);
    const stopped = w.stop();
    setTimeout(release, 200);
    await stopped;
    expect(await run).toBe('ran');
    expect(await other.get(`${jobId}:dispatch`)).toMatchObject({ status: 'succeeded', result: 'finished' });
    await claims.close();
  });
});
