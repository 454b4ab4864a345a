import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/infra';
import { ClaimStore } from './claim-store.port';
import { openClaimStore } from './claim-store.factory';
import { SqlClaimStore } from './sql-claim.store';

const HASH = `sha256:${'c'.repeat(64)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Backend {
  /** Independent stores (own connections) on one database, as separate worker processes have. */
  stores: ClaimStore[];
  close(): Promise<void>;
}

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'PostgreSQL (one pool per worker)',
    async () => {
      const db = await createTestDatabase('claims');
      const stores = await Promise.all(Array.from({ length: 8 }, () => openClaimStore(db.url, { maxConnections: 3 })));
      return {
        stores,
        close: async () => {
          await Promise.all(stores.map((s) => s.close()));
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
      return { stores, close: () => pg.close() };
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

  const request = (key: string, owner: string, leaseMs = 30_000) => ({ key, jobId: `job-${key}`, jobHash: HASH, owner, leaseMs });

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
});

describe('SqlClaimStore setup', () => {
  it('refuses a table name that is not a plain identifier', () => {
    expect(() => new SqlClaimStore(new Pool(), { tableName: 'claims; DROP TABLE x' })).toThrow(/must match/);
  });

  it('refuses an unsupported URL', async () => {
    await expect(openClaimStore('mysql://nope')).rejects.toThrow(/unsupported claim store URL/);
  });
});
