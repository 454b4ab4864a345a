import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/infra';
import { ClaimMode, ClaimStore, SqlQueryable } from './claim-store.port';
import { openClaimStore } from './claim-store.factory';
import { SqlClaimStore } from './sql-claim.store';

const HASH = `sha256:${'c'.repeat(64)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backend {
  /** Independent stores (own connections) on one database, as separate worker processes have. */
  stores: ClaimStore[];
  /** The database itself, for the tests' own tables. */
  db: SqlQueryable;
  close(): Promise<void>;
}

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'PostgreSQL (one pool per worker)',
    async () => {
      const db = await createTestDatabase('claims');
      const stores = await Promise.all(Array.from({ length: 8 }, () => openClaimStore(db.url, { maxConnections: 3 })));
      const pool = new Pool({ connectionString: db.url, max: 2 });
      // As every production pool: an idle client the server terminates (the drop below, a restart)
      // is an 'error' on the pool; without a listener it is an uncaught exception (seen in CI).
      pool.on('error', () => undefined);
      return {
        stores,
        db: pool,
        close: async () => {
          await Promise.all(stores.map((s) => s.close()));
          await pool.end();
          await db.drop();
        },
      };
    },
  ],
  [
    'PGlite (the standalone mode)',
    async () => {
      const pg = await PGlite.create();
      const stores = await Promise.all(Array.from({ length: 8 }, () => openClaimStore(pg)));
      return { stores, db: pg as unknown as SqlQueryable, close: () => pg.close() };
    },
  ],
];

describe.each(backends)('SqlClaimStore on %s', (_name, open) => {
  let backend: Backend;
  let a: ClaimStore;
  let b: ClaimStore;
  beforeAll(async () => {
    backend = await open();
    [a, b] = backend.stores;
  });
  afterAll(async () => {
    await backend?.close();
  });

  const request = (key: string, owner: string, leaseMs = 30_000, mode: ClaimMode = 'external') => ({
    key,
    jobId: `job-${key}`,
    jobHash: HASH,
    owner,
    leaseMs,
    mode,
  });

  it('of workers racing on one key, exactly one claims it; the others see it busy (30 keys x 8 workers)', async () => {
    for (let round = 0; round < 30; round++) {
      const key = randomUUID();
      const results = await Promise.all(backend.stores.map((store, i) => store.claim(request(key, `worker-${i}`))));
      expect(results.filter((r) => r.status === 'claimed')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'busy')).toHaveLength(backend.stores.length - 1);
    }
  });

  it('a completed key answers its stored outcome and is never claimed again', async () => {
    const key = randomUUID();
    const first = await a.claim(request(key, 'w1'));
    if (first.status !== 'claimed') throw new Error(first.status);
    expect(first).toMatchObject({ takeover: false, runs: 1 });
    expect(await a.complete(first.lease, { status: 'succeeded', result: { receipt: 'r-1', n: 2 } })).toEqual({ status: 'stored' });
    const again = await b.claim(request(key, 'w2', 1));
    expect(again).toEqual({ status: 'completed', owner: 'w1', outcome: { status: 'succeeded', result: { receipt: 'r-1', n: 2 } } });
    await sleep(20);
    expect((await b.claim(request(key, 'w3', 1))).status).toBe('completed');

    const failedKey = randomUUID();
    const failing = await a.claim(request(failedKey, 'w1'));
    if (failing.status !== 'claimed') throw new Error(failing.status);
    await a.complete(failing.lease, { status: 'failed', error: 'card declined' });
    expect(await b.claim(request(failedKey, 'w2'))).toMatchObject({ status: 'completed', outcome: { status: 'failed', error: 'card declined' } });
  });

  it('an expired lease (crashed worker) is taken over by exactly one worker, and the old holder is fenced out', async () => {
    const key = randomUUID();
    const crashed = await a.claim(request(key, 'crashed', 60));
    if (crashed.status !== 'claimed') throw new Error(crashed.status);
    expect(await b.claim(request(key, 'w2'))).toMatchObject({ status: 'busy', owner: 'crashed' });
    await sleep(120);
    const takers = await Promise.all(backend.stores.slice(1).map((s, i) => s.claim(request(key, `taker-${i}`))));
    const winners = takers.filter((t) => t.status === 'claimed');
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ takeover: true, runs: 2 });
    // The presumed-dead holder comes back: it can neither renew nor store an outcome.
    expect(await a.renew(crashed.lease, 1000)).toBe(false);
    const late = await a.complete(crashed.lease, { status: 'succeeded', result: 'late' });
    expect(late).toMatchObject({ status: 'lease_lost', current: { status: 'running', runs: 2 } });
  });

  it('renewal keeps a live lease from being taken over; release frees the key at once', async () => {
    const key = randomUUID();
    const held = await a.claim(request(key, 'w1', 150));
    if (held.status !== 'claimed') throw new Error(held.status);
    await sleep(80);
    expect(await a.renew(held.lease, 400)).toBe(true);
    await sleep(150);
    expect(await b.claim(request(key, 'w2'))).toMatchObject({ status: 'busy', owner: 'w1' });
    await a.release(held.lease);
    expect(await b.claim(request(key, 'w2'))).toMatchObject({ status: 'claimed', takeover: false, runs: 1 });
  });

  it('a key claimed for other job content is a conflict, never a run', async () => {
    const key = randomUUID();
    const held = await a.claim(request(key, 'w1'));
    if (held.status !== 'claimed') throw new Error(held.status);
    await a.complete(held.lease, { status: 'succeeded' });
    expect(await b.claim({ ...request(key, 'w2'), jobHash: `sha256:${'d'.repeat(64)}` })).toEqual({
      status: 'conflict',
      jobId: `job-${key}`,
      jobHash: HASH,
    });
  });
  describe('lease rules by mode', () => {
    const request = (key: string, owner: string, mode: ClaimMode, leaseMs = 30_000) => ({ key, jobId: `job-${key}`, jobHash: HASH, owner, leaseMs, mode });
    const claimed = async (store: ClaimStore, key: string, owner: string, mode: ClaimMode, leaseMs = 30_000) => {
      const result = await store.claim(request(key, owner, mode, leaseMs));
      if (result.status !== 'claimed') throw new Error(`expected claimed, got ${result.status}`);
      return result;
    };

    it('external: a lease lost after the effect began is marked unknown by exactly one finder and never claimed again', async () => {
      const key = randomUUID();
      const crashed = await claimed(a, key, 'crashed', 'external', 60);
      expect(crashed.lease.fencingToken).toBe(1);
      expect(await a.markEffectStarted(crashed.lease)).toBe(true);
      await sleep(120);
      const finders = await Promise.all(backend.stores.slice(1).map((s, i) => s.claim(request(key, `finder-${i}`, 'external'))));
      expect(finders.every((f) => f.status === 'unknown')).toBe(true);
      const marked = finders.filter((f) => f.status === 'unknown' && f.marked);
      expect(marked).toHaveLength(1);
      expect(marked[0]).toMatchObject({ owner: 'crashed', runs: 1, reason: expect.stringMatching(/lease of crashed \(run 1\) expired after its side effect began/) });
      // Whatever the finder's own mode, the claim's recorded mode decides; and it stays unknown.
      expect(await b.claim(request(key, 'later', 'idempotent'))).toMatchObject({ status: 'unknown', marked: false, owner: 'crashed' });
      expect(await a.get(key)).toMatchObject({ status: 'unknown', runs: 1, mode: 'external', effectStarted: true, leaseExpiresAt: null });
      // The presumed-dead holder comes back: it can neither renew nor store an outcome.
      expect(await a.renew(crashed.lease, 1000)).toBe(false);
      expect(await a.complete(crashed.lease, { status: 'succeeded' })).toMatchObject({ status: 'lease_lost', current: { status: 'unknown' } });
    });

    it('external: a lease lost BEFORE the effect began is taken over (nothing ran), with a higher fencing token', async () => {
      const key = randomUUID();
      await claimed(a, key, 'crashed', 'external', 60);
      await sleep(120);
      const taker = await claimed(b, key, 'taker', 'external');
      expect(taker).toMatchObject({ takeover: true, runs: 2, lease: { fencingToken: 2 } });
    });

    it('idempotent: a lease lost after the effect began is taken over, the fencing token grows with every takeover', async () => {
      const key = randomUUID();
      const first = await claimed(a, key, 'w1', 'idempotent', 60);
      await a.markEffectStarted(first.lease);
      await sleep(120);
      const second = await claimed(b, key, 'w2', 'idempotent', 60);
      expect(second.lease.fencingToken).toBe(2);
      await b.markEffectStarted(second.lease);
      expect(await b.expire(second.lease)).toBe(true);
      const third = await claimed(a, key, 'w3', 'idempotent');
      expect(third.lease.fencingToken).toBe(3);
      // An external handler taking over a claim whose idempotent effect began keeps it marked started.
      expect(await a.get(key)).toMatchObject({ status: 'running', runs: 3, effectStarted: true });
    });

    it('markUnknown, expire and markEffectStarted are fenced by the lease token; release never frees a started effect', async () => {
      const key = randomUUID();
      const held = await claimed(a, key, 'w1', 'external', 60);
      await sleep(120);
      const taker = await claimed(b, key, 'w2', 'external');
      expect(await a.markEffectStarted(held.lease)).toBe(false);
      expect(await a.markUnknown(held.lease, 'x')).toBe(false);
      expect(await a.expire(held.lease)).toBe(false);
      await b.markEffectStarted(taker.lease);
      await b.release(taker.lease);
      expect(await b.get(key)).toMatchObject({ status: 'running', owner: 'w2' });
      expect(await b.markUnknown(taker.lease, 'the handler gave up after its lease was lost')).toBe(true);
      expect(await a.claim(request(key, 'w3', 'external'))).toMatchObject({
        status: 'unknown',
        marked: false,
        reason: 'the handler gave up after its lease was lost',
      });
    });

    it('transactional: the effect and the completion commit together; a throw rolls the effect back and records failed', async () => {
      const table = `effects_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
      await backend.db.query(`CREATE TABLE ${table} (k text)`);
      const key = randomUUID();
      const held = await claimed(a, key, 'w1', 'transactional');
      const stored = await a.runTransactionally(held.lease, async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1)`, [key]);
        return { ok: 1 };
      }, { leaseMs: 30_000 });
      expect(stored).toEqual({ status: 'stored', outcome: { status: 'succeeded', result: { ok: 1 } } });
      expect(await b.claim(request(key, 'w2', 'transactional'))).toMatchObject({ status: 'completed', outcome: { result: { ok: 1 } } });

      const failing = randomUUID();
      const held2 = await claimed(a, failing, 'w1', 'transactional');
      const failed = await a.runTransactionally(held2.lease, async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1)`, [failing]);
        throw new Error('the ledger refused');
      }, { leaseMs: 30_000 });
      expect(failed).toEqual({ status: 'stored', outcome: { status: 'failed', error: 'the ledger refused' } });
      // A handler that swallows an error of its own statement: its writes are undone, failed recorded.
      const swallowed = randomUUID();
      const held3 = await claimed(a, swallowed, 'w1', 'transactional');
      const aborted = await a.runTransactionally(held3.lease, async (tx) => {
        await tx.query(`INSERT INTO ${table} VALUES ($1)`, [swallowed]);
        await tx.query('SELECT 1/0').catch(() => undefined);
        return 'pretends all is well';
      }, { leaseMs: 30_000 });
      expect(aborted).toMatchObject({ status: 'stored', outcome: { status: 'failed', error: expect.stringMatching(/left its transaction aborted/) } });
      const { rows } = await backend.db.query(`SELECT k FROM ${table} ORDER BY k`);
      expect(rows).toEqual([{ k: key }]);
    });

    it('transactional: a lease taken over before the lock runs nothing; a claimer of a locked key waits and sees the outcome', async () => {
      const key = randomUUID();
      const stale = await claimed(a, key, 'w1', 'transactional', 60);
      await sleep(120);
      const taker = await claimed(b, key, 'w2', 'transactional');
      let ran = false;
      expect(
        await a.runTransactionally(stale.lease, async () => {
          ran = true;
        }, { leaseMs: 30_000 }),
      ).toMatchObject({ status: 'lease_lost', current: { status: 'running', owner: 'w2' } });
      expect(ran).toBe(false);

      // While the taker's transaction holds the row, its lease expires: a claimer must wait, not take over.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      await b.renew(taker.lease, 50);
      const run = b.runTransactionally(taker.lease, async () => {
        locked();
        await gate;
        return 'done';
      }, { leaseMs: 30_000 });
      await isLocked;
      await sleep(100);
      const waiting = backend.stores[2].claim(request(key, 'w3', 'transactional'));
      await sleep(100);
      release();
      expect(await run).toMatchObject({ status: 'stored' });
      expect(await waiting).toMatchObject({ status: 'completed', outcome: { status: 'succeeded', result: 'done' } });
    });
  });
});

describe('SqlClaimStore transactions on PostgreSQL: a lost connection rolls the effect back with the completion', () => {
  let db: { url: string; drop: () => Promise<void> };
  let pool: Pool;
  let admin: Pool;
  let store: ClaimStore;
  beforeAll(async () => {
    db = await createTestDatabase('claimtx');
    pool = new Pool({ connectionString: db.url, max: 3 });
    pool.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    pool.on('error', () => undefined);
    admin = new Pool({ connectionString: db.url, max: 1 });
    admin.on('error', () => undefined); // a client the server terminates (drop, restart) must not be an uncaught exception
    store = await openClaimStore(pool);
    await admin.query('CREATE TABLE tx_effects (k text)');
  });
  afterAll(async () => {
    await pool?.end();
    await admin?.end();
    await db?.drop();
  });

  it('the server ends the connection mid-effect: nothing is stored, the effect is gone, a takeover runs it once', async () => {
    const key = randomUUID();
    const first = await store.claim({ key, jobId: 'j', jobHash: HASH, owner: 'w1', leaseMs: 200, mode: 'transactional' });
    if (first.status !== 'claimed') throw new Error(first.status);
    let aborted = false;
    const run = store.runTransactionally(first.lease, async (tx, signal) => {
      await tx.query('INSERT INTO tx_effects VALUES ($1)', [key]);
      const { rows } = await tx.query('SELECT pg_backend_pid() AS pid');
      await admin.query('SELECT pg_terminate_backend($1)', [(rows[0] as { pid: number }).pid]);
      await sleep(100);
      aborted = signal.aborted;
      return 'never stored';
    }, { leaseMs: 200 });
    await expect(run).rejects.toThrow();
    expect(aborted).toBe(true);
    expect((await admin.query('SELECT count(*)::int AS n FROM tx_effects')).rows[0].n).toBe(0);
    expect(await store.get(key)).toMatchObject({ status: 'running', owner: 'w1', runs: 1 });
    await sleep(250);
    const second = await store.claim({ key, jobId: 'j', jobHash: HASH, owner: 'w2', leaseMs: 30_000, mode: 'transactional' });
    if (second.status !== 'claimed') throw new Error(second.status);
    expect(second.lease.fencingToken).toBe(2);
    await store.runTransactionally(second.lease, async (tx) => void (await tx.query('INSERT INTO tx_effects VALUES ($1)', [key])), { leaseMs: 30_000 });
    expect((await admin.query('SELECT count(*)::int AS n FROM tx_effects')).rows[0].n).toBe(1);
  });

  it('a frozen holder (its event loop blocked) loses its transaction after the lease; a slow but live one keeps it', async () => {
    const key = randomUUID();
    const held = await store.claim({ key, jobId: 'j', jobHash: HASH, owner: 'frozen', leaseMs: 150, mode: 'transactional' });
    if (held.status !== 'claimed') throw new Error(held.status);
    const run = store.runTransactionally(held.lease, async (tx) => {
      await tx.query('INSERT INTO tx_effects VALUES ($1)', [key]);
      const end = Date.now() + 600;
      while (Date.now() < end) {
        // frozen: no timer, no keepalive runs
      }
      return 'too late';
    }, { leaseMs: 150 });
    await expect(run).rejects.toThrow();
    expect(await store.get(key)).toMatchObject({ status: 'running', owner: 'frozen' });
    expect((await admin.query('SELECT count(*)::int AS n FROM tx_effects WHERE k = $1', [key])).rows[0].n).toBe(0);

    const slow = randomUUID();
    const live = await store.claim({ key: slow, jobId: 'j', jobHash: HASH, owner: 'slow', leaseMs: 150, mode: 'transactional' });
    if (live.status !== 'claimed') throw new Error(live.status);
    const done = await store.runTransactionally(live.lease, async (tx) => {
      await tx.query('INSERT INTO tx_effects VALUES ($1)', [slow]);
      await sleep(600);
      return 'slow but alive';
    }, { leaseMs: 150 });
    expect(done).toEqual({ status: 'stored', outcome: { status: 'succeeded', result: 'slow but alive' } });
  });

  it('upgrades a claim table of the earlier version: unknown allowed, its running rows count as started', async () => {
    await admin.query(`CREATE TABLE old_claims (
      idempotency_key text PRIMARY KEY, job_id text NOT NULL, job_hash text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')), owner text NOT NULL,
      lease_token text, lease_expires_at timestamptz, runs integer NOT NULL DEFAULT 1, result jsonb, error text,
      claimed_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz)`);
    await admin.query(`INSERT INTO old_claims (idempotency_key, job_id, job_hash, status, owner, lease_token, lease_expires_at)
      VALUES ('old-key', 'j', $1, 'running', 'old-worker', 't', now() - interval '1 minute')`, [HASH]);
    const upgraded = await openClaimStore(pool, { tableName: 'old_claims' });
    expect(await upgraded.get('old-key')).toMatchObject({ mode: 'external', effectStarted: true });
    expect(await upgraded.claim({ key: 'old-key', jobId: 'j', jobHash: HASH, owner: 'new-worker', leaseMs: 1000, mode: 'external' })).toMatchObject({
      status: 'unknown',
      marked: true,
    });
    // Migrating again changes nothing.
    await new SqlClaimStore(pool, { tableName: 'old_claims' }).migrate();
    expect(await upgraded.get('old-key')).toMatchObject({ status: 'unknown' });
  });
});

describe('SqlClaimStore setup', () => {
  it('refuses a table name that is not a plain identifier', () => {
    expect(() => new SqlClaimStore(new Pool(), { tableName: 'claims; DROP TABLE x' })).toThrow(/must match/);
  });

  it('refuses an unsupported URL', async () => {
    await expect(openClaimStore('mysql://nope')).rejects.toThrow(/unsupported claim store URL/);
  });
});
