/*
 * Group commit in the SQL adapters (AppendBatcher + SQL.appendBatch), on PostgreSQL and PGlite:
 * what only the SQL side can show (transactions shared, a batch the database refuses as a whole,
 * two instances racing on the same new streams). The port-level semantics are in the conformance
 * suite ("concurrent appends to distinct streams").
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../../test/support/infra';
import { EventStoreArgumentError, WrongExpectedVersionError } from '../event-store.errors';
import { createEventStore } from '../event-store.factory';
import type { EventStore, NewEvent } from '../event-store.port';

function event(type: string, data: Record<string, unknown> = {}): NewEvent {
  return { id: randomUUID(), type, data, metadata: {} };
}

function prefix(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}-`;
}

interface Target {
  readonly name: string;
  /** `txCount`: distinct writing transactions of a prefix's events (null: no second connection to ask, PGlite). */
  open(): Promise<{ store: EventStore; txCount: ((streamPrefix: string) => Promise<number>) | null; close(): Promise<void> }>;
}

const pglite: Target = {
  name: 'PGlite',
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-pglite-gc-'));
    const store = await createEventStore(`pglite://${dir}`);
    return {
      store,
      txCount: null,
      close: async () => {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: Target = {
  name: 'PostgreSQL',
  async open() {
    const db = await createTestDatabase('es_gc');
    const store = await createEventStore(db.url);
    const admin = new Client({ connectionString: db.url });
    admin.on('error', () => undefined);
    await admin.connect();
    return {
      store,
      txCount: async (streamPrefix) =>
        Number((await admin.query<{ n: string }>(`SELECT count(DISTINCT tx_id) AS n FROM event_store.events WHERE starts_with(stream_id, $1)`, [streamPrefix])).rows[0]!.n),
      close: async () => {
        await store.close();
        await admin.end();
        await db.drop();
      },
    };
  },
};

for (const target of [postgres, pglite]) {
  describe(`group commit of concurrent appends (${target.name})`, () => {
    let opened: Awaited<ReturnType<Target['open']>>;
    let store: EventStore;

    beforeAll(async () => {
      opened = await target.open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.close();
    });

    it('concurrent appends to distinct streams share transactions (fewer commits than appends), each committed before it answers', async () => {
      const p = prefix('shared');
      const n = 40;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => store.appendToStream(`${p}${i}`, [event('A', { i })], { expectedRevision: 'no_stream' })));
      expect(results.every((r) => r.nextRevision === 0n)).toBe(true);
      // Every answered append is readable at once: its transaction committed before the answer.
      for (let i = 0; i < n; i++) expect((await store.readStream(`${p}${i}`)).map((e) => e.data)).toEqual([{ i }]);
      if (opened.txCount) expect(await opened.txCount(p)).toBeLessThan(n);
    });

    it('a batch the database refuses as a whole (one append holds a value it cannot store) fails only that append', async () => {
      const p = prefix('refused');
      const calls = Array.from({ length: 12 }, (_, i) =>
        store.appendToStream(`${p}${i}`, [event('B', i === 5 ? { text: 'nul \u0000 byte' } : { i })], { expectedRevision: 'no_stream' }),
      );
      const outcomes = await Promise.allSettled(calls);
      outcomes.forEach((outcome, i) => expect(outcome.status, `append ${i}`).toBe(i === 5 ? 'rejected' : 'fulfilled'));
      expect((outcomes[5] as PromiseRejectedResult).reason).toBeInstanceOf(EventStoreArgumentError);
      expect(await store.readStream(`${p}5`)).toEqual([]);
      for (let i = 0; i < 12; i++) if (i !== 5) expect((await store.readStream(`${p}${i}`)).map((e) => e.data)).toEqual([{ i }]);
    });

    it('conflicts and successes mixed in one batch keep their own answers; the losers of one stream are refused with the winner\'s head', async () => {
      const p = prefix('mixed');
      for (let i = 0; i < 10; i++) await store.appendToStream(`${p}${i}`, [event('Open')], { expectedRevision: 'no_stream' });
      const calls = Array.from({ length: 10 }, (_, i) => [
        store.appendToStream(`${p}${i}`, [event('Win', { i }), event('Win', { i, k: 1 })], { expectedRevision: 0n }),
        store.appendToStream(`${p}${i}`, [event('Lose', { i })], { expectedRevision: 0n }),
      ]).flat();
      const outcomes = await Promise.allSettled(calls);
      for (let i = 0; i < 10; i++) {
        expect(outcomes[2 * i]).toEqual({ status: 'fulfilled', value: expect.objectContaining({ nextRevision: 2n }) });
        const lost = outcomes[2 * i + 1] as PromiseRejectedResult;
        expect(lost.status).toBe('rejected');
        expect(lost.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(lost.reason).toMatchObject({ expected: 0n, actual: 2n });
        expect((await store.readStream(`${p}${i}`)).map((e) => e.type)).toEqual(['Open', 'Win', 'Win']);
      }
    });
  });
}

describe('group commit across two instances (PostgreSQL)', () => {
  let db: { url: string; drop: () => Promise<void> };
  let a: EventStore;
  let b: EventStore;

  beforeAll(async () => {
    db = await createTestDatabase('es_gc2');
    [a, b] = await Promise.all([createEventStore(db.url), createEventStore(db.url)]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await db?.drop();
  });

  it('two instances creating the same new streams in their batches: one winner per stream, every other append of both batches stored', async () => {
    for (let round = 0; round < 5; round++) {
      const p = prefix(`race${round}`);
      const contested = Array.from({ length: 6 }, (_, i) => `${p}c${i}`);
      const batch = (store: EventStore, who: string) => [
        ...contested.map((stream) => store.appendToStream(stream, [event('Claim', { who })], { expectedRevision: 'no_stream' })),
        ...Array.from({ length: 6 }, (_, i) => store.appendToStream(`${p}${who}${i}`, [event('Own', { who, i })], { expectedRevision: 'no_stream' })),
      ];
      const [fromA, fromB] = await Promise.all([Promise.allSettled(batch(a, 'a')), Promise.allSettled(batch(b, 'b'))]);
      for (let i = 0; i < contested.length; i++) {
        const pair = [fromA[i]!, fromB[i]!];
        expect(pair.filter((o) => o.status === 'fulfilled'), contested[i]).toHaveLength(1);
        const lost = pair.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
        expect(lost.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(lost.reason).toMatchObject({ expected: 'no_stream', actual: 0n });
        expect(await a.readStream(contested[i]!)).toHaveLength(1);
      }
      for (const outcome of [...fromA.slice(contested.length), ...fromB.slice(contested.length)]) expect(outcome.status).toBe('fulfilled');
    }
  });
});
