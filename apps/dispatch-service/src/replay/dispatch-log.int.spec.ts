import { randomUUID } from 'node:crypto';
import { ClaimDispatch, GrantCheck } from '@signoff/approvals';
import { POLICY_STREAM, PolicyActivatedData, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { createEventStore, EventData, EventStore, LogReaderOptions } from '@signoff/event-store';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../../test/support/app';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { newIdempotencyKey } from '../dispatch/dispatch-message';
import { activateTestPolicy, approveTestJob, commandsFor, SubmittedTestJob, submitTestJob, TEST_SNAPSHOT } from '../testing/dispatch.test-kit';
import { DispatchLog } from './dispatch-log';

const P2 = `sha256:${'2'.repeat(64)}`;
const P3 = `sha256:${'3'.repeat(64)}`;

/**
 * The fact the dispatcher judges a grant by, on PostgreSQL, where commit order, position order and
 * the log's order differ: the global log is ordered by writing transaction, and the store only
 * shows transactions nothing can be ordered before any more (libs/event-store, "Global order").
 * Transactions are held open with a trigger that waits on an advisory lock after the insert.
 */
describe('DispatchLog: the policy active at a grant’s position in the global log (PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let store: EventStore;
  let commands: JobCommandHandler;
  let log: DispatchLog;
  let admin: Client;
  let holder: Client;
  let logReads = 0;

  beforeAll(async () => {
    db = await createTestDatabase('dlog');
    store = await createEventStore(db.url);
    commands = commandsFor(store);
    // Count the dispatch log's reads of the log (each batch of its reader is one).
    const readFromStart = store.readFromStart.bind(store);
    store.readFromStart = <E extends EventData = EventData>(options?: LogReaderOptions) => {
      const reader = readFromStart<E>(options);
      const next = reader.next.bind(reader);
      reader.next = () => {
        logReads += 1;
        return next();
      };
      return reader;
    };
    log = new DispatchLog(store, testConfig({ EVENT_STORE_URL: db.url }));
    admin = new Client({ connectionString: db.url });
    holder = new Client({ connectionString: db.url });
    await Promise.all([admin.connect(), holder.connect()]);
    await activateTestPolicy(store);
  });

  afterAll(async () => {
    await Promise.all([admin?.end(), holder?.end()]);
    await store?.close();
    await db?.drop();
  });

  function activate(snapshot: string) {
    const data: PolicyActivatedData = { snapshot, version: 'v-x', activatedBy: 'admin', bundle: {} };
    const at = new Date().toISOString();
    return store.appendToStream(POLICY_STREAM, [{ id: randomUUID(), type: 'PolicyActivated', data, metadata: { correlationId: 'c', causationId: 'c', actor: 'admin', at } }], {
      expectedRevision: 'any',
    });
  }

  /** Appends to `stream` stay inside their open transaction, after their insert, until the returned release. */
  async function holdAppendsTo(stream: string, key: number): Promise<() => Promise<void>> {
    const fn = `hold_${key}`;
    await admin.query(`
      CREATE FUNCTION public.${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.stream_id = '${stream}' THEN PERFORM pg_advisory_xact_lock(${key}); END IF;
        RETURN NEW;
      END $$`);
    await admin.query(`CREATE TRIGGER ${fn} AFTER INSERT ON event_store.events FOR EACH ROW EXECUTE FUNCTION public.${fn}()`);
    await holder.query('SELECT pg_advisory_lock($1)', [key]);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await holder.query('SELECT pg_advisory_unlock($1)', [key]);
      await admin.query(`DROP TRIGGER ${fn} ON event_store.events`);
      await admin.query(`DROP FUNCTION public.${fn}()`);
    };
  }

  const heldOpen = async () =>
    (
      await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      )
    ).rows[0]!.n === 1;

  const claim = (job: SubmittedTestJob, check: GrantCheck) =>
    commands.execute(job.ref, (): ClaimDispatch => ({
      type: 'ClaimDispatch',
      data: { job_id: job.jobId, attempt: 1, idempotency_key: newIdempotencyKey(job.ref), claimed_by: 'dispatch-test', ...check },
      metadata: { commandId: randomUUID(), correlationId: 'c', actor: 'dispatch-test', now: new Date().toISOString() },
    }));

  it('an activation whose transaction is still open when the grant commits comes first in the log: the grant waits for it, then is void', async () => {
    const job = await submitTestJob(commands, 'held-activation', 'require_human');
    const release = await holdAppendsTo(POLICY_STREAM, 4301);
    try {
      const activation = activate(P2);
      await eventually(heldOpen, 'the activation to be held open after its insert');
      const approvalId = await approveTestJob(commands, job);
      const { state } = await commands.load(job.ref);

      // Judged at commit time the grant would stand: the policy stream's committed head is still P1.
      const committedPolicies = await store.readStream<{ type: string; data: PolicyActivatedData }>(POLICY_STREAM);
      expect(committedPolicies.at(-1)?.data.snapshot).toBe(TEST_SNAPSHOT);
      // The log shows neither yet (the open activation holds the line): no verdict.
      expect(await log.grantCheck(job.ref, state, 200)).toBeNull();

      await release();
      await activation;
      const check = await log.grantCheck(job.ref, state);
      expect(check).toEqual({ grant_fact: { approval_id: approvalId, active_policy_snapshot: P2 }, snapshot_mode: 'strict' });
      const voided = await claim(job, check!);
      expect(voided.result).toMatchObject({ ok: true, outcome: { status: 'invalidated', expected: TEST_SNAPSHOT, current: P2 } });
      expect(voided.appended.map((e) => e.type)).toEqual(['ApprovalInvalidated']);
    } finally {
      await release();
    }
  });

  it('a grant whose transaction is still open when a later activation commits comes first in the log: it stands', async () => {
    await activate(TEST_SNAPSHOT);
    const job = await submitTestJob(commands, 'held-grant', 'require_human');
    const release = await holdAppendsTo(toJobStreamId(job.ref), 4302);
    try {
      const approving = approveTestJob(commands, job);
      await eventually(heldOpen, 'the grant to be held open after its insert');
      await activate(P3);
      // P3 is committed, but the line stops at the open grant: the log does not show P3 yet.
      await log.catchUp();
      expect(log.projection.activePolicySnapshot).toBe(TEST_SNAPSHOT);

      await release();
      const approvalId = await approving;
      const { state } = await commands.load(job.ref);
      const check = await log.grantCheck(job.ref, state);
      expect(check).toEqual({ grant_fact: { approval_id: approvalId, active_policy_snapshot: TEST_SNAPSHOT }, snapshot_mode: 'strict' });
      expect(log.projection.activePolicySnapshot).toBe(P3);
      const claimed = await claim(job, check!);
      expect(claimed.result).toMatchObject({ ok: true, outcome: { status: 'claimed', attempt: 1 } });
    } finally {
      await release();
    }
  });

  it('a burst of grants costs at most two log reads (callers share them); a job without a grant to judge needs none', async () => {
    const allowed = await submitTestJob(commands, 'allowed-1', 'allow');
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => submitTestJob(commands, `burst-${i}`, 'require_human')));
    const approvals = await Promise.all(jobs.map((job) => approveTestJob(commands, job)));
    const states = await Promise.all([allowed, ...jobs].map(async (job) => (await commands.load(job.ref)).state));
    const readsBefore = logReads;
    const reads = () => logReads - readsBefore;
    expect(await log.grantCheck(allowed.ref, states[0]!)).toEqual({});
    expect(reads()).toBe(0);
    const checks = await Promise.all(jobs.map((job, i) => log.grantCheck(job.ref, states[i + 1]!)));
    expect(checks.map((c) => c?.grant_fact)).toEqual(approvals.map((approval_id) => ({ approval_id, active_policy_snapshot: P3 })));
    expect(reads()).toBeLessThanOrEqual(2);
  });
});
