/**
 * The conformance suite every EventStore adapter must pass: the same tests, run by each adapter's
 * int spec. Every test works under its own random stream prefix and subscription names, so the
 * suite also runs against a shared, non-empty server (KurrentDB).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deterministicUuid } from '../deterministic-uuid.helper';
import {
  DuplicateEventIdError,
  EventStoreArgumentError,
  EventStoreClosedError,
  SubscriptionCheckpointConflictError,
  SubscriptionLeaseLostError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import type { AllFilter, EventStore, ExpectedRevision, NewEvent, RecordedEvent, SubscriptionHandle } from '../event-store.port';

/** Storage the suite opens stores on. */
export interface EventStoreTestTarget {
  /** Opens a store; every call reaches the same data (the suite closes one before opening the next). */
  open(): Promise<EventStore>;
  /** Removes the storage after the suite. */
  destroy(): Promise<void>;
}

export interface ConformanceOptions {
  /** Skip the whole suite (its name should say why). */
  readonly skip?: boolean;
  /**
   * The adapter refuses an event id that is already elsewhere in the stream (the SQL adapters:
   * unique (stream, event id)). KurrentDB does not.
   */
  readonly uniqueEventIds?: boolean;
  /** fast-check runs of the interleaving property; default 25. */
  readonly propertyRuns?: number;
}

const POLL_MS = 10;

function unique(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}-`;
}

function event(type: string, data: Record<string, unknown> = {}, id: string = randomUUID()): NewEvent {
  return { id, type, data, metadata: { correlationId: 'c-1', causationId: 'c-0', actor: 'conformance', at: '2025-01-01T00:00:00.000Z' } };
}

function ids(events: readonly { id: string }[]): string[] {
  return events.map((e) => e.id);
}

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, the call resolved');
}

/**
 * Reads the log until it holds `count` events. The SQL adapters only show events of transactions
 * that can no longer be overtaken, so a read right after a commit may briefly lag while another
 * transaction on the same server is open (other test files share it).
 */
async function readAllEventually(store: EventStore, filter: AllFilter, count: number): Promise<RecordedEvent[]> {
  let events: RecordedEvent[] = [];
  await eventually(async () => {
    events = await store.readAll({ filter });
    return events.length >= count;
  }, `readAll to reach ${count} events`);
  return events;
}

/** Runs the conformance suite against the storage `factory` provides. */
export function describeEventStoreConformance(
  name: string,
  factory: () => Promise<EventStoreTestTarget>,
  options: ConformanceOptions = {},
): void {
  describe.skipIf(Boolean(options.skip))(name, () => {
    let target: EventStoreTestTarget;
    let store: EventStore;

    beforeAll(async () => {
      target = await factory();
      store = await target.open();
    });

    afterAll(async () => {
      await store?.close();
      await target?.destroy();
    });

    async function append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision) {
      return store.appendToStream(stream, events, { expectedRevision });
    }

    function collect(subscription: string, filter: AllFilter, extra: { batchSize?: number; leaseMs?: number } = {}) {
      const seen: RecordedEvent[] = [];
      const handle = store.subscribe(subscription, {
        filter,
        handler: (e) => {
          seen.push(e);
        },
        pollIntervalMs: POLL_MS,
        ...extra,
      });
      return { seen, handle };
    }

    describe('appendToStream and expected revisions', () => {
      it('no_stream creates the stream at revision 0 and the events read back as written', async () => {
        const stream = `${unique('new')}s`;
        const written = [event('JobSubmitted', { n: 1, nested: { list: [1, 'two', null] } }), event('PolicyEvaluated', { n: 2 })];
        const result = await append(stream, written, 'no_stream');
        expect(result.nextRevision).toBe(1n);
        expect(typeof result.position).toBe('bigint');
        const read = await store.readStream(stream);
        expect(read.map((e) => [e.id, e.type, e.data, e.metadata, e.streamId, e.revision])).toEqual(
          written.map((e, i) => [e.id, e.type, e.data, e.metadata, stream, BigInt(i)]),
        );
        expect(read[1]!.position).toBe(result.position);
        for (const e of read) expect(e.createdAt).toBeInstanceOf(Date);
      });

      it('no_stream on an existing stream is a WrongExpectedVersionError with the actual revision, and writes nothing', async () => {
        const stream = `${unique('exists')}s`;
        await append(stream, [event('A'), event('B')], 'no_stream');
        const error = await rejection(append(stream, [event('C')], 'no_stream'));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ code: 'wrong_expected_version', streamId: stream, expected: 'no_stream', actual: 1n });
        expect(ids(await store.readStream(stream))).toHaveLength(2);
      });

      it('stream_exists on a missing stream is a WrongExpectedVersionError (actual no_stream) and creates nothing', async () => {
        const stream = `${unique('missing')}s`;
        const error = await rejection(append(stream, [event('A')], 'stream_exists'));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('stream_exists on an existing stream appends', async () => {
        const stream = `${unique('exists-ok')}s`;
        await append(stream, [event('A')], 'no_stream');
        const result = await append(stream, [event('B'), event('C')], 'stream_exists');
        expect(result.nextRevision).toBe(2n);
      });

      it('an exact revision appends when right and is refused when behind, ahead or on a missing stream', async () => {
        const stream = `${unique('exact')}s`;
        await append(stream, [event('A')], 'no_stream');
        expect((await append(stream, [event('B')], 0n)).nextRevision).toBe(1n);
        const behind = await rejection(append(stream, [event('X')], 0n));
        expect(behind).toBeInstanceOf(WrongExpectedVersionError);
        expect(behind).toMatchObject({ expected: 0n, actual: 1n });
        const ahead = await rejection(append(stream, [event('X')], 5n));
        expect(ahead).toMatchObject({ code: 'wrong_expected_version', expected: 5n, actual: 1n });
        const missing = await rejection(append(`${stream}-other`, [event('X')], 0n));
        expect(missing).toMatchObject({ code: 'wrong_expected_version', expected: 0n, actual: 'no_stream' });
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
      });

      it("'any' appends to missing and existing streams", async () => {
        const stream = `${unique('any')}s`;
        expect((await append(stream, [event('A')], 'any')).nextRevision).toBe(0n);
        expect((await append(stream, [event('B'), event('C')], 'any')).nextRevision).toBe(2n);
      });

      it('an empty append only checks the expectation', async () => {
        const stream = `${unique('empty')}s`;
        await expect(append(stream, [], 'no_stream')).resolves.toMatchObject({ nextRevision: -1n });
        await append(stream, [event('A')], 'no_stream');
        await expect(append(stream, [], 0n)).resolves.toMatchObject({ nextRevision: 0n });
        await expect(append(stream, [], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedVersionError);
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('refuses bad arguments with EventStoreArgumentError and writes nothing', async () => {
        const stream = `${unique('bad')}s`;
        const bad: Array<() => Promise<unknown>> = [
          () => append(stream, [{ ...event('A'), id: 'not-a-uuid' }], 'any'),
          () => append(stream, [{ ...event('A'), type: '' }], 'any'),
          () => append(stream, [{ ...event('A'), data: 42 }], 'any'),
          () => append(stream, [{ ...event('A'), data: { big: 1n } }], 'any'),
          () => append(stream, [event('A', {}, '00000000-0000-4000-8000-000000000001'), event('B', {}, '00000000-0000-4000-8000-000000000001')], 'any'),
          () => append(stream, [event('A')], -1n),
          () => append(stream, [event('A')], 'latest' as never),
          () => append('', [event('A')], 'any'),
        ];
        for (const call of bad) expect(await rejection(call())).toBeInstanceOf(EventStoreArgumentError);
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('idempotent appends (EventStoreDB semantics)', () => {
      it('the same ids at the same place again return the original result and write nothing', async () => {
        const stream = `${unique('idem')}s`;
        const first = [event('A'), event('B')];
        const original = await append(stream, first, 'no_stream');
        await expect(append(stream, first, 'no_stream')).resolves.toEqual(original);
        const second = [event('C')];
        const next = await append(stream, second, 1n);
        // A retry after a lost response: the stream has moved on, the repeat is still recognised.
        await expect(append(stream, first, 'no_stream')).resolves.toEqual(original);
        await expect(append(stream, second, 1n)).resolves.toEqual(next);
        await expect(append(stream, second, 'any')).resolves.toEqual(next);
        await expect(append(stream, first, 'stream_exists')).resolves.toEqual(original);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('deterministic ids make a retried command a no-op', async () => {
        const stream = `${unique('cmd')}s`;
        const command = randomUUID();
        const decide = () => [event('ApprovalGranted', { by: 'r1' }, deterministicUuid(`${command}/0`))];
        const original = await append(stream, decide(), 'any');
        await expect(append(stream, decide(), 'any')).resolves.toEqual(original);
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it.skipIf(!options.uniqueEventIds)('ids already elsewhere in the stream are a DuplicateEventIdError', async () => {
        const stream = `${unique('dup')}s`;
        const a = event('A');
        const b = event('B');
        await append(stream, [a, b], 'no_stream');
        const partial = await rejection(append(stream, [b, event('C')], 1n));
        expect(partial).toBeInstanceOf(DuplicateEventIdError);
        expect(partial).toMatchObject({ streamId: stream, eventIds: [b.id] });
        // A consecutive run of the stream, but not at the place this expectation names.
        const elsewhere = await rejection(append(stream, [a], 1n));
        expect(elsewhere).toBeInstanceOf(DuplicateEventIdError);
        // The expectation is checked first: a stale writer learns that, not the duplicate.
        expect(await rejection(append(stream, [a], 5n))).toBeInstanceOf(WrongExpectedVersionError);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
      });
    });

    describe('multi-stream calls (appendToStreams, readStreams)', () => {
      it('appends to several streams, each at its own expected revision, and reads them back in one call', async () => {
        const prefix = unique('multi');
        const [a, b, c] = [`${prefix}a`, `${prefix}b`, `${prefix}c`];
        await append(b, [event('B0')], 'no_stream');
        const outcomes = await store.appendToStreams([
          { stream: a, events: [event('A0'), event('A1')], expectedRevision: 'no_stream' },
          { stream: b, events: [event('B1')], expectedRevision: 0n },
          { stream: c, events: [event('C0')], expectedRevision: 'any' },
        ]);
        expect(outcomes.map((o) => o.ok && o.result.nextRevision)).toEqual([1n, 1n, 0n]);
        const read = await store.readStreams([c, `${prefix}missing`, a, b]);
        expect(read.map((events) => events.map((e) => e.type))).toEqual([['C0'], [], ['A0', 'A1'], ['B0', 'B1']]);
        expect(read[2].map((e) => e.revision)).toEqual([0n, 1n]);
        // Each outcome is what appendToStream answers: the position of the stream's last event.
        for (const [i, events] of [read[2], read[3], read[0]].entries()) {
          const outcome = outcomes[i];
          expect(outcome.ok && outcome.result.position).toBe(events[events.length - 1].position);
        }
      });

      it('a stream whose expectation fails gets the WrongExpectedVersionError; the others are written', async () => {
        const prefix = unique('multi-conflict');
        await append(`${prefix}taken`, [event('T0')], 'no_stream');
        const outcomes = await store.appendToStreams([
          { stream: `${prefix}free`, events: [event('F0')], expectedRevision: 'no_stream' },
          { stream: `${prefix}taken`, events: [event('T1')], expectedRevision: 'no_stream' },
          { stream: `${prefix}absent`, events: [event('X')], expectedRevision: 'stream_exists' },
        ]);
        expect(outcomes[0]).toMatchObject({ ok: true });
        expect(outcomes[1].ok ? null : outcomes[1].error).toBeInstanceOf(WrongExpectedVersionError);
        expect(outcomes[2].ok ? null : outcomes[2].error).toBeInstanceOf(WrongExpectedVersionError);
        expect((await store.readStream(`${prefix}taken`)).map((e) => e.type)).toEqual(['T0']);
        expect(await store.readStream(`${prefix}absent`)).toEqual([]);
      });

      it('a repeat of the same ids at the same place returns the original results and writes nothing', async () => {
        const prefix = unique('multi-idem');
        const appends = [
          { stream: `${prefix}a`, events: [event('A0')], expectedRevision: 'no_stream' as const },
          { stream: `${prefix}b`, events: [event('B0'), event('B1')], expectedRevision: 'no_stream' as const },
        ];
        const first = await store.appendToStreams(appends);
        await expect(store.appendToStreams(appends)).resolves.toEqual(first);
        expect((await store.readStreams([`${prefix}a`, `${prefix}b`])).map((e) => e.length)).toEqual([1, 2]);
      });

      it('concurrent multi-stream appends over the same streams: each stream gets exactly one writer per revision', async () => {
        const prefix = unique('multi-race');
        const streams = Array.from({ length: 6 }, (_, i) => `${prefix}${i}`);
        const writers = await Promise.all(
          Array.from({ length: 4 }, (_, w) =>
            store.appendToStreams((w % 2 === 0 ? streams : [...streams].reverse()).map((stream) => ({ stream, events: [event(`W${w}`)], expectedRevision: 'no_stream' as const }))),
          ),
        );
        const wins = streams.map((_, i) => writers.filter((outcomes, w) => outcomes[w % 2 === 0 ? i : streams.length - 1 - i].ok).length);
        expect(wins).toEqual(streams.map(() => 1));
        for (const outcomes of writers) for (const o of outcomes) if (!o.ok) expect(o.error).toBeInstanceOf(WrongExpectedVersionError);
        for (const events of await store.readStreams(streams)) expect(events).toHaveLength(1);
      });

      it('the same stream twice in one call is refused as an argument error', async () => {
        const stream = `${unique('multi-twice')}s`;
        await expect(store.readStreams([stream, stream])).rejects.toBeInstanceOf(EventStoreArgumentError);
        await expect(
          store.appendToStreams([
            { stream, events: [event('A')], expectedRevision: 'any' },
            { stream, events: [event('B')], expectedRevision: 'any' },
          ]),
        ).rejects.toBeInstanceOf(EventStoreArgumentError);
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('readStream', () => {
      const stream = `${unique('read')}s`;
      let written: NewEvent[];

      beforeAll(async () => {
        written = Array.from({ length: 6 }, (_, i) => event(`E${i}`, { i }));
        await append(stream, written.slice(0, 3), 'no_stream');
        await append(stream, written.slice(3), 2n);
      });

      it('forwards from the start, from a revision, limited', async () => {
        expect(ids(await store.readStream(stream))).toEqual(ids(written));
        expect(ids(await store.readStream(stream, { fromRevision: 2n }))).toEqual(ids(written.slice(2)));
        expect(ids(await store.readStream(stream, { fromRevision: 1n, maxCount: 2 }))).toEqual(ids(written.slice(1, 3)));
        expect(await store.readStream(stream, { fromRevision: 6n })).toEqual([]);
        expect(await store.readStream(stream, { maxCount: 0 })).toEqual([]);
      });

      it('backwards from the end or from a revision, limited', async () => {
        expect(ids(await store.readStream(stream, { direction: 'backwards' }))).toEqual(ids(written).reverse());
        expect(ids(await store.readStream(stream, { direction: 'backwards', maxCount: 1 }))).toEqual([written[5]!.id]);
        expect(ids(await store.readStream(stream, { direction: 'backwards', fromRevision: 3n, maxCount: 2 }))).toEqual([
          written[3]!.id,
          written[2]!.id,
        ]);
        const revisions = (await store.readStream(stream, { direction: 'backwards' })).map((e) => e.revision);
        expect(revisions).toEqual([5n, 4n, 3n, 2n, 1n, 0n]);
      });

      it('a missing stream reads as empty', async () => {
        expect(await store.readStream(`${stream}-nothing`)).toEqual([]);
        expect(await store.readStream(`${stream}-nothing`, { direction: 'backwards' })).toEqual([]);
      });
    });

    describe('readAll', () => {
      const prefix = unique('all');
      let order: NewEvent[];

      beforeAll(async () => {
        // Sequential appends: each commits before the next starts, so this is also the log order.
        const a1 = [event('JobSubmitted', { s: 'a' }), event('PolicyEvaluated', { s: 'a' })];
        const b1 = [event('JobSubmitted', { s: 'b' })];
        const a2 = [event('ApprovalRequested', { s: 'a' })];
        const c1 = [event('JobSubmitted', { s: 'c' }), event('ApprovalRequested', { s: 'c' })];
        await append(`${prefix}a`, a1, 'no_stream');
        await append(`${prefix}b`, b1, 'no_stream');
        await append(`${prefix}a`, a2, 1n);
        await append(`${prefix}c`, c1, 'no_stream');
        await append(`other-${prefix}x`, [event('JobSubmitted', { s: 'x' })], 'no_stream');
        order = [...a1, ...b1, ...a2, ...c1];
      });

      it('returns the log in commit order, filtered by stream prefix', async () => {
        const all = await readAllEventually(store, { streamPrefix: prefix }, order.length);
        expect(ids(all)).toEqual(ids(order));
        expect(all.map((e) => e.streamId)).toEqual([
          `${prefix}a`,
          `${prefix}a`,
          `${prefix}b`,
          `${prefix}a`,
          `${prefix}c`,
          `${prefix}c`,
        ]);
      });

      it('includes the events without a filter, in the same relative order', async () => {
        await readAllEventually(store, { streamPrefix: prefix }, order.length);
        const everything = await store.readAll();
        const ours = new Set(ids(order));
        expect(ids(everything.filter((e) => ours.has(e.id)))).toEqual(ids(order));
        expect(everything.some((e) => e.streamId === `other-${prefix}x`)).toBe(true);
      });

      it('filters by event types, alone and with a prefix', async () => {
        await readAllEventually(store, { streamPrefix: prefix }, order.length);
        const submitted = await store.readAll({ filter: { streamPrefix: prefix, eventTypes: ['JobSubmitted'] } });
        expect(submitted.map((e) => e.data)).toEqual([{ s: 'a' }, { s: 'b' }, { s: 'c' }]);
        const two = await store.readAll({ filter: { streamPrefix: prefix, eventTypes: ['PolicyEvaluated', 'ApprovalRequested'] } });
        expect(ids(two)).toEqual(ids(order.filter((e) => e.type !== 'JobSubmitted')));
        const typeOnly = await store.readAll({ filter: { eventTypes: ['JobSubmitted'] } });
        expect(typeOnly.every((e) => e.type === 'JobSubmitted')).toBe(true);
        expect(typeOnly.some((e) => e.streamId === `other-${prefix}x`)).toBe(true);
        expect(await store.readAll({ filter: { streamPrefix: prefix, eventTypes: [] } })).toEqual([]);
      });

      it('honours maxCount, and fromPosition is inclusive so pages chain', async () => {
        const all = await readAllEventually(store, { streamPrefix: prefix }, order.length);
        expect(ids(await store.readAll({ filter: { streamPrefix: prefix }, maxCount: 2 }))).toEqual(ids(order.slice(0, 2)));
        expect(await store.readAll({ filter: { streamPrefix: prefix }, maxCount: 0 })).toEqual([]);
        const third = all[2]!;
        const fromThird = await store.readAll({ filter: { streamPrefix: prefix }, fromPosition: third.position });
        expect(ids(fromThird)).toEqual(ids(order.slice(2)));
        const paged: RecordedEvent[] = [];
        let from: bigint | undefined;
        for (let guard = 0; guard < 20; guard += 1) {
          const page = await store.readAll({ filter: { streamPrefix: prefix }, maxCount: 3, fromPosition: from });
          const fresh = from === undefined ? page : page.slice(1);
          paged.push(...fresh);
          if (fresh.length === 0) break;
          from = page[page.length - 1]!.position;
        }
        expect(ids(paged)).toEqual(ids(order));
      });
    });

    describe('concurrency', () => {
      it('50 concurrent appenders expecting the same revision: exactly one wins, the others get WrongExpectedVersionError', async () => {
        const stream = `${unique('race')}s`;
        const attempts = Array.from({ length: 50 }, (_, i) => append(stream, [event('Claimed', { by: i })], 'no_stream'));
        const outcomes = await Promise.allSettled(attempts);
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(49);
        for (const error of lost) {
          expect(error).toBeInstanceOf(WrongExpectedVersionError);
          expect(error).toMatchObject({ expected: 'no_stream', actual: 0n });
        }
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('50 concurrent appenders with exact revisions and retries: one winner per revision, nothing lost, nothing duplicated', async () => {
        const stream = `${unique('contend')}s`;
        const appenders = 50;
        const successes: bigint[] = [];
        let conflicts = 0;
        const batchOf = (w: number) => [0, 1].map((k) => event('Step', { w, k }, deterministicUuid(`${stream}/${w}/${k}`)));
        const run = async (w: number) => {
          for (;;) {
            const [last] = await store.readStream(stream, { direction: 'backwards', maxCount: 1 });
            const expected: ExpectedRevision = last ? last.revision : 'no_stream';
            try {
              const result = await append(stream, batchOf(w), expected);
              successes.push(result.nextRevision);
              return;
            } catch (error) {
              if (!(error instanceof WrongExpectedVersionError)) throw error;
              conflicts += 1;
            }
          }
        };
        await Promise.all(Array.from({ length: appenders }, (_, w) => run(w)));
        const events = await store.readStream(stream);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: appenders * 2 }, (_, i) => BigInt(i)));
        expect(new Set(ids(events)).size).toBe(appenders * 2);
        expect(new Set(ids(events))).toEqual(new Set(Array.from({ length: appenders }, (_, w) => ids(batchOf(w))).flat()));
        for (let i = 0; i < events.length; i += 2) {
          // Each winner's batch is contiguous and in order.
          expect(events[i]!.data).toMatchObject({ k: 0 });
          expect(events[i + 1]!.data).toEqual({ ...(events[i]!.data as object), k: 1 });
        }
        expect([...successes].sort((a, b) => (a < b ? -1 : 1))).toEqual(
          Array.from({ length: appenders }, (_, i) => BigInt(i * 2 + 1)),
        );
        expect(conflicts).toBeGreaterThan(0);
      });

      it("50 concurrent appenders with 'any' are all appended with distinct revisions", async () => {
        const stream = `${unique('any-race')}s`;
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => append(stream, [event('Any', { i })], 'any')));
        expect(new Set(results.map((r) => r.nextRevision)).size).toBe(50);
        const events = await store.readStream(stream);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
      });
    });

    /**
     * `total` events in a fresh stream, and a subscriber that "dies" at its `hangAt`-th event:
     * its handler hangs until `release()`, and its lease (a minute, renewed every 20 s) goes
     * unrenewed well past a short-lease standby's ttl.
     */
    async function hungOwner(label: string, total: number, batchSize: number, hangAt: number) {
      const prefix = unique(label);
      const written = Array.from({ length: total }, (_, i) => event('Step', { i }));
      await append(`${prefix}s`, written, 'no_stream');
      const name = `${prefix}sub`;
      let release!: () => void;
      const stuck = new Promise<void>((resolve) => (release = resolve));
      const seen: RecordedEvent[] = [];
      const errors: unknown[] = [];
      const handle = store.subscribe(name, {
        filter: { streamPrefix: prefix },
        batchSize,
        pollIntervalMs: POLL_MS,
        leaseMs: 60_000,
        handler: async (e) => {
          seen.push(e);
          if (seen.length === hangAt) await stuck;
        },
        onError: (error) => errors.push(error),
      });
      await eventually(() => seen.length === hangAt, 'the owner to hang');
      return { prefix, name, written, seen, errors, handle, release };
    }

    /** The checkpoint of `name` is at the end of stream `<prefix>s` (at `head`): a new instance gets only what is appended from now on. */
    async function expectCheckpointAtEnd(name: string, prefix: string, head: bigint): Promise<void> {
      const next = collect(name, { streamPrefix: prefix });
      await new Promise((resolve) => setTimeout(resolve, 10 * POLL_MS));
      const late = event('Late');
      await append(`${prefix}s`, [late], head);
      await eventually(() => next.seen.length >= 1, 'the late event');
      await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
      await next.handle.stop();
      expect(ids(next.seen)).toEqual([late.id]);
    }
    describe('concurrent appends to distinct streams (group commit in the SQL adapters)', () => {
      /** Streams `<prefix>0..n-1`, each holding one event (revision 0). */
      async function existing(prefix: string, n: number): Promise<string[]> {
        const streams = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
        for (const stream of streams) await append(stream, [event('Opened')], 'no_stream');
        return streams;
      }

      it('mixed expectations issued together: each append gets its own answer, a conflict fails only its own append', async () => {
        const prefix = unique('mixed');
        const streams = await existing(prefix, 8);
        const calls: { stream: string; expected: ExpectedRevision; ok: boolean; actual?: bigint | 'no_stream' }[] = [
          ...streams.map((stream, i) => (i % 2 === 0 ? { stream, expected: 0n, ok: true } : { stream, expected: 3n, ok: false, actual: 0n })),
          { stream: `${prefix}new-a`, expected: 'no_stream', ok: true },
          { stream: `${prefix}new-b`, expected: 'stream_exists', ok: false, actual: 'no_stream' },
          { stream: `${prefix}new-c`, expected: 'any', ok: true },
          { stream: `${prefix}missing`, expected: 0n, ok: false, actual: 'no_stream' },
          { stream: `${prefix}new-d`, expected: 'no_stream', ok: true },
        ];
        const outcomes = await Promise.allSettled(calls.map((c, i) => append(c.stream, [event('Step', { i }), event('Step', { i, k: 1 })], c.expected)));
        outcomes.forEach((outcome, i) => {
          const call = calls[i]!;
          if (call.ok) {
            expect(outcome.status, `${call.stream} ${String(call.expected)}`).toBe('fulfilled');
            const first = call.expected === 0n ? 1n : 0n;
            expect((outcome as PromiseFulfilledResult<{ nextRevision: bigint }>).value.nextRevision).toBe(first + 1n);
          } else {
            expect(outcome.status, `${call.stream} ${String(call.expected)}`).toBe('rejected');
            const error = (outcome as PromiseRejectedResult).reason as unknown;
            expect(error).toBeInstanceOf(WrongExpectedVersionError);
            expect(error).toMatchObject({ streamId: call.stream, expected: call.expected, actual: call.actual });
          }
        });
        for (const [i, call] of calls.entries()) {
          const events = await store.readStream(call.stream);
          const opened = streams.includes(call.stream) ? ['Opened'] : [];
          expect(events.map((e) => e.type), call.stream).toEqual(call.ok ? [...opened, 'Step', 'Step'] : opened);
          if (call.ok) expect(events.slice(opened.length).map((e) => e.data)).toEqual([{ i }, { i, k: 1 }]);
        }
      });

      it("each append's events are contiguous and in order in its stream and in the log, and its position is its last event's", async () => {
        const prefix = unique('order');
        const n = 24;
        const batches = Array.from({ length: n }, (_, w) => [0, 1, 2].map((k) => event('Part', { w, k })));
        const results = await Promise.all(batches.map((batch, w) => append(`${prefix}${w}`, batch, 'no_stream')));
        const log = await readAllEventually(store, { streamPrefix: prefix }, n * 3);
        expect(log).toHaveLength(n * 3);
        for (let at = 0; at < log.length; at += 3) {
          const [a, b, c] = [log[at]!, log[at + 1]!, log[at + 2]!];
          expect([a.streamId, b.streamId]).toEqual([c.streamId, c.streamId]);
          expect([a.revision, b.revision, c.revision]).toEqual([0n, 1n, 2n]);
          expect(a.position < b.position && b.position < c.position).toBe(true);
          const w = Number(c.streamId.slice(prefix.length));
          expect(ids([a, b, c])).toEqual(ids(batches[w]!));
          expect(results[w]).toEqual({ nextRevision: 2n, position: c.position });
        }
        for (let at = 1; at < log.length; at++) expect(log[at - 1]!.position < log[at]!.position).toBe(true);
      });

      it('concurrent appends to the same streams among others: exactly one winner per stream and expected revision', async () => {
        const prefix = unique('same');
        const streams = await existing(prefix, 6);
        const racers = 5;
        const attempts = streams.flatMap((stream) => Array.from({ length: racers }, (_, r) => ({ stream, r })));
        // Interleaved, so the racers of one stream arrive among the others' appends.
        attempts.sort((x, y) => x.r - y.r);
        const outcomes = await Promise.allSettled(attempts.map(({ stream, r }) => append(stream, [event('Raced', { r })], 0n)));
        for (const stream of streams) {
          const mine = outcomes.filter((_, i) => attempts[i]!.stream === stream);
          expect(mine.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
          for (const lost of mine.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
            expect(lost.reason).toBeInstanceOf(WrongExpectedVersionError);
            expect(lost.reason).toMatchObject({ streamId: stream, expected: 0n, actual: 1n });
          }
          expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['Opened', 'Raced']);
        }
      });

      it('the same append twice at once (a retried command racing its original) is stored once and both get its result', async () => {
        const prefix = unique('twice');
        const [stream] = await existing(prefix, 1);
        const batch = [event('Once'), event('Once')];
        const other = event('Other');
        const [first, second, third] = await Promise.allSettled([
          append(stream!, batch, 0n),
          append(stream!, batch, 0n),
          append(`${prefix}other`, [other], 'no_stream'),
        ]);
        expect(first).toEqual({ status: 'fulfilled', value: expect.objectContaining({ nextRevision: 2n }) });
        expect(second).toEqual(first);
        expect(third.status).toBe('fulfilled');
        expect(ids(await store.readStream(stream!))).toEqual([expect.any(String), ...ids(batch)]);
      });
    });

    describe('catch-up subscriptions', () => {
      it('20 concurrent writers while subscribed: every event exactly once, in one order, across a restart from the checkpoint', async () => {
        const prefix = unique('writers');
        const writers = 20;
        const batches = 6;
        const sizeOf = (w: number, b: number) => ((w + b) % 3) + 1;
        let total = 0;
        for (let w = 0; w < writers; w += 1) for (let b = 0; b < batches; b += 1) total += sizeOf(w, b);
        const stopAt = Math.floor(total / 3);

        const seen: RecordedEvent[] = [];
        let stopping: Promise<void> | undefined;
        const handler = (e: RecordedEvent) => {
          seen.push(e);
        };
        const first: SubscriptionHandle = store.subscribe(`${prefix}main`, {
          filter: { streamPrefix: prefix },
          batchSize: 17,
          pollIntervalMs: POLL_MS,
          handler: (e) => {
            handler(e);
            // Stop mid-way, from inside a batch: the rest of the batch must come after the restart.
            if (seen.length === stopAt) stopping = first.stop();
          },
        });
        const observer = collect(`${prefix}observer`, { streamPrefix: prefix });

        const write = async (w: number) => {
          let expected: ExpectedRevision = 'no_stream';
          for (let b = 0; b < batches; b += 1) {
            const batch = Array.from({ length: sizeOf(w, b) }, (_, k) => event('Written', { w, b, k }));
            expected = (await append(`${prefix}w${w}`, batch, expected)).nextRevision;
          }
        };
        await Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
        await eventually(() => stopping !== undefined, 'the first subscriber to stop');
        await stopping;
        expect(seen).toHaveLength(stopAt);

        const second = store.subscribe(`${prefix}main`, { filter: { streamPrefix: prefix }, batchSize: 17, pollIntervalMs: POLL_MS, handler });
        await eventually(() => seen.length >= total && observer.seen.length >= total, 'both subscribers to catch up');
        await Promise.all([second.stop(), observer.handle.stop()]);

        const log = await readAllEventually(store, { streamPrefix: prefix }, total);
        expect(log).toHaveLength(total);
        expect(ids(seen)).toEqual(ids(log));
        expect(ids(observer.seen)).toEqual(ids(log));
        for (let w = 0; w < writers; w += 1) {
          const revisions = seen.filter((e) => e.streamId === `${prefix}w${w}`).map((e) => e.revision);
          expect(revisions).toEqual(revisions.map((_, i) => BigInt(i)));
        }
      });

      it('resumes from its durable checkpoint after the store is closed and reopened', async () => {
        const prefix = unique('restart');
        const written: NewEvent[] = [];
        for (let s = 0; s < 3; s += 1) {
          const batch = Array.from({ length: 10 }, (_, i) => event('Step', { s, i }));
          written.push(...batch);
          await append(`${prefix}${s}`, batch, 'no_stream');
        }
        const order = ids(await readAllEventually(store, { streamPrefix: prefix }, written.length));
        const seen: RecordedEvent[] = [];
        let stopping: Promise<void> | undefined;
        const first: SubscriptionHandle = store.subscribe(`${prefix}sub`, {
          filter: { streamPrefix: prefix },
          batchSize: 4,
          pollIntervalMs: POLL_MS,
          handler: (e) => {
            seen.push(e);
            if (seen.length === 10) stopping = first.stop();
          },
        });
        await eventually(() => stopping !== undefined, 'the subscriber to stop');
        await stopping;
        // close() stops whatever still runs, then refuses further calls.
        const running = store.subscribe(`${prefix}other`, { filter: { streamPrefix: prefix }, handler: () => undefined });
        await store.close();
        await running.stop();
        expect(await rejection(append(`${prefix}0`, [event('Late')], 'any'))).toBeInstanceOf(EventStoreClosedError);

        store = await target.open();
        const rest = collect(`${prefix}sub`, { streamPrefix: prefix }, { batchSize: 4 });
        await eventually(() => seen.length + rest.seen.length >= written.length, 'the rest after the restart');
        await rest.handle.stop();
        expect([...ids(seen), ...ids(rest.seen)]).toEqual(order);
      });

      it('a failing handler gets the same event again; nothing is skipped', async () => {
        const prefix = unique('fail');
        const written = Array.from({ length: 6 }, (_, i) => event('Step', { i }));
        await append(`${prefix}s`, written, 'no_stream');
        const seen: RecordedEvent[] = [];
        const errors: Array<{ error: unknown; event?: RecordedEvent }> = [];
        let failures = 0;
        const handle = store.subscribe(`${prefix}sub`, {
          filter: { streamPrefix: prefix },
          pollIntervalMs: POLL_MS,
          retryDelayMs: 5,
          handler: (e) => {
            if (e.id === written[2]!.id && failures < 2) {
              failures += 1;
              throw new Error('projection down');
            }
            seen.push(e);
          },
          onError: (error, e) => errors.push({ error, event: e }),
        });
        await eventually(() => seen.length >= written.length, 'all events despite the failures');
        await handle.stop();
        expect(ids(seen)).toEqual(ids(written));
        expect(errors).toHaveLength(2);
        for (const reported of errors) {
          expect((reported.error as Error).message).toBe('projection down');
          expect(reported.event?.id).toBe(written[2]!.id);
        }
      });

      it('several subscriptions at the head (one shared read of the log per process): each gets exactly its filter of the log, in order, once, and its own checkpoint', async () => {
        const prefix = unique('shared');
        await append(`${prefix}w0`, [event('A', { w: 0, b: -1 })], 'no_stream');
        const onlyA = collect(`${prefix}a`, { streamPrefix: prefix, eventTypes: ['A'] }, { batchSize: 5 });
        const everything = collect(`${prefix}all`, { streamPrefix: prefix });
        const fromStart: RecordedEvent[] = [];
        const volatile = store.subscribeFromStart(`${prefix}volatile`, { filter: { streamPrefix: `${prefix}w1` }, pollIntervalMs: POLL_MS, handler: (e) => void fromStart.push(e) });
        await eventually(() => onlyA.seen.length >= 1 && everything.seen.length >= 1, 'the subscriptions to catch up');
        const writers = 8;
        const rounds = 5;
        await Promise.all(
          Array.from({ length: writers }, async (_, w) => {
            let expected: ExpectedRevision = w === 0 ? 0n : 'no_stream';
            for (let b = 0; b < rounds; b += 1) expected = (await append(`${prefix}w${w}`, [event(b % 2 === 0 ? 'A' : 'B', { w, b })], expected)).nextRevision;
          }),
        );
        const total = 1 + writers * rounds;
        const log = await readAllEventually(store, { streamPrefix: prefix }, total);
        const wantedA = log.filter((e) => e.type === 'A');
        const wantedW1 = log.filter((e) => e.streamId === `${prefix}w1`);
        await eventually(() => everything.seen.length >= total && onlyA.seen.length >= wantedA.length && fromStart.length >= wantedW1.length, 'every subscription to see the log');
        await Promise.all([onlyA.handle.stop(), everything.handle.stop(), volatile.stop()]);
        expect(ids(everything.seen)).toEqual(ids(log));
        expect(ids(onlyA.seen)).toEqual(ids(wantedA));
        expect(ids(fromStart)).toEqual(ids(wantedW1));
        // The durable subscriptions stored their checkpoints at the end: a restart gets only what comes next.
        const again = collect(`${prefix}all`, { streamPrefix: prefix });
        const againA = collect(`${prefix}a`, { streamPrefix: prefix, eventTypes: ['A'] });
        await new Promise((resolve) => setTimeout(resolve, 10 * POLL_MS));
        const late = event('A');
        await append(`${prefix}w0`, [late], BigInt(rounds));
        await eventually(() => again.seen.length >= 1 && againA.seen.length >= 1, 'the late event');
        await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
        await Promise.all([again.handle.stop(), againA.handle.stop()]);
        expect(ids(again.seen)).toEqual([late.id]);
        expect(ids(againA.seen)).toEqual([late.id]);
      });

      it('a slow subscription does not hold up the others; it gets everything afterwards, in order, once', async () => {
        const prefix = unique('slow');
        await append(`${prefix}s`, [event('Step', { i: -1 })], 'no_stream');
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const slow: RecordedEvent[] = [];
        const handle = store.subscribe(`${prefix}slow`, {
          filter: { streamPrefix: prefix },
          pollIntervalMs: POLL_MS,
          handler: async (e) => {
            if (slow.length === 1) await gate;
            slow.push(e);
          },
        });
        const fast = collect(`${prefix}fast`, { streamPrefix: prefix });
        await eventually(() => slow.length === 1 && fast.seen.length === 1, 'both to catch up');
        let head = 0n;
        for (let i = 0; i < 20; i += 1) head = (await append(`${prefix}s`, [event('Step', { i })], head)).nextRevision;
        await eventually(() => fast.seen.length === 21, 'the fast subscription to get every event while the slow one hangs');
        expect(slow).toHaveLength(1);
        release();
        await eventually(() => slow.length === 21, 'the slow subscription to catch up');
        await Promise.all([handle.stop(), fast.handle.stop()]);
        const log = await store.readAll({ filter: { streamPrefix: prefix } });
        expect(ids(slow)).toEqual(ids(log));
        expect(ids(fast.seen)).toEqual(ids(log));
      });

      it('filters by event type and keeps separate checkpoints per name', async () => {
        const prefix = unique('types');
        await append(`${prefix}s`, [event('A'), event('B'), event('A'), event('C')], 'no_stream');
        const onlyA = collect(`${prefix}a`, { streamPrefix: prefix, eventTypes: ['A'] });
        const everything = collect(`${prefix}all`, { streamPrefix: prefix });
        await eventually(() => onlyA.seen.length >= 2 && everything.seen.length >= 4, 'both subscriptions');
        await append(`${prefix}s`, [event('A')], 3n);
        await eventually(() => onlyA.seen.length >= 3 && everything.seen.length >= 5, 'the live event');
        await Promise.all([onlyA.handle.stop(), everything.handle.stop()]);
        expect(onlyA.seen.map((e) => e.revision)).toEqual([0n, 2n, 4n]);
        expect(everything.seen.map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n, 4n]);
      });

      it('a batch handler gets the log in order, once, across a restart from the checkpoint', async () => {
        const prefix = unique('batches');
        const written = Array.from({ length: 11 }, (_, i) => event('Step', { i }));
        await append(`${prefix}s`, written, 'no_stream');
        const seen: RecordedEvent[] = [];
        const sizes: number[] = [];
        const run = () =>
          store.subscribe(`${prefix}sub`, {
            filter: { streamPrefix: prefix },
            batchSize: 4,
            pollIntervalMs: POLL_MS,
            handleBatch: async (events) => {
              sizes.push(events.length);
              seen.push(...events);
            },
          });
        const first = run();
        await eventually(() => seen.length >= 11, 'the batches');
        await first.stop();
        const late = event('Late');
        await append(`${prefix}s`, [late], 10n);
        const second = run();
        await eventually(() => seen.length >= 12, 'the late event after the restart');
        await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
        await second.stop();
        expect(ids(seen)).toEqual([...ids(written), late.id]);
        expect(sizes.slice(0, 3)).toEqual([4, 4, 3]);
      });

      it('two subscribers of one name: one handles, the other stands by; a clean stop hands over at once, from the checkpoint', async () => {
        const prefix = unique('lease');
        const name = `${prefix}sub`;
        await append(`${prefix}s`, Array.from({ length: 10 }, (_, i) => event('Step', { i })), 'no_stream');
        const first = collect(name, { streamPrefix: prefix }, { batchSize: 4 });
        await eventually(() => first.seen.length >= 10, 'the first subscriber');
        const second = collect(name, { streamPrefix: prefix }, { batchSize: 4 });
        await append(`${prefix}s`, [event('Step'), event('Step')], 9n);
        await eventually(() => first.seen.length >= 12, 'the live events');
        // Several standby polls: the owner renews, the standby handles nothing.
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(second.seen).toEqual([]);

        const stoppedAt = Date.now();
        await first.handle.stop();
        await append(`${prefix}s`, [event('Step'), event('Step')], 11n);
        await eventually(() => second.seen.length >= 2, 'the standby to take over');
        // At once: well under the default 5 s lease.
        expect(Date.now() - stoppedAt).toBeLessThan(3_000);
        await second.handle.stop();
        const log = await readAllEventually(store, { streamPrefix: prefix }, 14);
        expect([...ids(first.seen), ...ids(second.seen)]).toEqual(ids(log));
      });

      it('an owner that stops renewing is replaced within the lease ttl; the new owner resumes from the checkpoint; the deposed one never moves it', async () => {
        // The owner "dies" in its second batch, after checkpointing the first.
        const { prefix, name, written, seen: zombieSeen, errors: zombieErrors, handle: zombie, release } = await hungOwner('failover', 20, 4, 5);

        const ttl = 400;
        const standbyStart = Date.now();
        const fresh = collect(name, { streamPrefix: prefix }, { batchSize: 4, leaseMs: ttl });
        await eventually(() => fresh.seen.length >= 16, 'the standby to take over');
        const tookOver = Date.now() - standbyStart;
        expect(tookOver).toBeGreaterThanOrEqual(ttl);
        expect(tookOver).toBeLessThan(ttl * 10);
        // From the checkpoint: the batch the dead owner had in flight again, nothing skipped.
        expect(ids(fresh.seen)).toEqual(ids(written.slice(4)));

        // The old owner wakes up: it may finish the batch in flight, but its checkpoint write
        // fails on the compare-and-set, it finds the new owner and stands by.
        release();
        await eventually(() => zombieErrors.some((e) => e instanceof SubscriptionLeaseLostError), 'the old owner to learn it was deposed');
        expect(zombieSeen.length).toBeLessThanOrEqual(8);
        const late = event('Late');
        await append(`${prefix}s`, [late], 19n);
        await eventually(() => fresh.seen.length >= 17, 'the late event at the new owner');
        await new Promise((resolve) => setTimeout(resolve, 5 * POLL_MS));
        expect(ids(zombieSeen)).not.toContain(late.id);
        await zombie.stop();
        await fresh.handle.stop();

        await expectCheckpointAtEnd(name, prefix, 20n);
      });

      it('a deposed owner whose lease was taken over cannot move the checkpoint backwards', async () => {
        // Hangs after checkpointing 2.
        const { prefix, name, errors: zombieErrors, handle: zombie, release } = await hungOwner('fenced', 12, 2, 3);
        const fresh = collect(name, { streamPrefix: prefix }, { batchSize: 5, leaseMs: 200 });
        await eventually(() => fresh.seen.length >= 10, 'the new owner to catch up');
        await fresh.handle.stop(); // checkpoint at 12, lease released
        release();
        await eventually(() => zombieErrors.some((e) => e instanceof SubscriptionCheckpointConflictError), 'the old owner to be refused');
        await zombie.stop();
        // Whatever the old owner tried, the checkpoint stayed at the end.
        await expectCheckpointAtEnd(name, prefix, 11n);
      });
    });

    describe('non-durable reads from the start (no checkpoint)', () => {
      it('subscribeFromStart delivers the log from its start and then live events, stores nothing under its name, and starts again after a reopen', async () => {
        const prefix = unique('volatile');
        await append(`${prefix}a`, [event('A'), event('B')], 'no_stream');
        await append(`${prefix}b`, [event('A')], 'no_stream');
        await readAllEventually(store, { streamPrefix: prefix }, 3);
        const name = `${prefix}projection`;
        const seen: RecordedEvent[] = [];
        const first = store.subscribeFromStart(name, { filter: { streamPrefix: prefix }, batchSize: 2, pollIntervalMs: POLL_MS, handler: (e) => void seen.push(e) });
        expect(first.name).toBe(name);
        await eventually(() => seen.length >= 3, 'the existing events');
        await append(`${prefix}a`, [event('C')], 1n);
        await eventually(() => seen.length >= 4, 'the live event');
        await first.stop();
        const log = await readAllEventually(store, { streamPrefix: prefix }, 4);
        expect(ids(seen)).toEqual(ids(log));

        // The same name again starts from the start: nothing was stored under it.
        const again: RecordedEvent[] = [];
        const second = store.subscribeFromStart(name, { filter: { streamPrefix: prefix, eventTypes: ['A'] }, pollIntervalMs: POLL_MS, handler: (e) => void again.push(e) });
        await eventually(() => again.length >= 2, 'the events again');
        await second.stop();
        expect(ids(again)).toEqual(ids(log.filter((e) => e.type === 'A')));
        // Neither is a durable checkpoint under that name: a durable subscription of it starts at the start too.
        const durable = collect(name, { streamPrefix: prefix });
        await eventually(() => durable.seen.length >= 4, 'the durable subscription from the start');
        await durable.handle.stop();
        expect(ids(durable.seen)).toEqual(ids(log));

        const afterRestart: RecordedEvent[] = [];
        const reader = store.readFromStart({ filter: { streamPrefix: prefix } });
        await store.close();
        expect(() => store.subscribeFromStart(name, { handler: () => undefined })).toThrow(EventStoreClosedError);
        expect(await rejection(reader.next())).toBeInstanceOf(EventStoreClosedError);
        store = await target.open();
        const third = store.subscribeFromStart(name, { filter: { streamPrefix: prefix }, pollIntervalMs: POLL_MS, handler: (e) => void afterRestart.push(e) });
        await eventually(() => afterRestart.length >= 4, 'the log from the start after a reopen');
        await third.stop();
        expect(ids(afterRestart)).toEqual(ids(log));
      });

      it('a failing handler of subscribeFromStart gets the same event again; nothing is skipped', async () => {
        const prefix = unique('volatile-fail');
        const written = Array.from({ length: 4 }, (_, i) => event('Step', { i }));
        await append(`${prefix}s`, written, 'no_stream');
        const seen: RecordedEvent[] = [];
        let failures = 0;
        const handle = store.subscribeFromStart(`${prefix}sub`, {
          filter: { streamPrefix: prefix },
          pollIntervalMs: POLL_MS,
          retryDelayMs: 5,
          handler: (e) => {
            if (e.id === written[1]!.id && failures < 2) {
              failures += 1;
              throw new Error('projection down');
            }
            seen.push(e);
          },
        });
        await eventually(() => seen.length >= written.length, 'all events despite the failures');
        await handle.stop();
        expect(failures).toBe(2);
        expect(ids(seen)).toEqual(ids(written));
      });

      it('readFromStart reads the log in batches in log order, past what the filter drops, then what was appended since, and again after reset', async () => {
        const prefix = unique('reader');
        await append(`${prefix}a`, [event('A'), event('B'), event('A')], 'no_stream');
        await append(`${prefix}b`, [event('B'), event('A'), event('B')], 'no_stream');
        await append(`${prefix}c`, [event('A')], 'no_stream');
        const log = await readAllEventually(store, { streamPrefix: prefix }, 7);
        const onlyA = log.filter((e) => e.type === 'A');
        const reader = store.readFromStart({ filter: { streamPrefix: prefix, eventTypes: ['A'] }, batchSize: 2 });
        const batches: RecordedEvent[][] = [];
        for (let guard = 0; guard < 10; guard += 1) {
          const batch = await reader.next();
          batches.push(batch);
          if (batch.length < 2) break;
        }
        expect(batches.map((batch) => batch.length)).toEqual([2, 2, 0]);
        expect(ids(batches.flat())).toEqual(ids(onlyA));
        expect(await reader.next()).toEqual([]);

        await append(`${prefix}b`, [event('B'), event('A')], 2n);
        const later = await readAllEventually(store, { streamPrefix: prefix, eventTypes: ['A'] }, 5);
        const applied: RecordedEvent[] = [];
        expect(await reader.catchUp((e) => void applied.push(e))).toBe(1);
        expect(ids(applied)).toEqual(ids(later.slice(4)));

        reader.reset();
        const rebuilt: RecordedEvent[] = [];
        expect(await reader.catchUp((e) => void rebuilt.push(e))).toBe(5);
        expect(ids(rebuilt)).toEqual(ids(later));
        expect(() => store.readFromStart({ batchSize: 0 })).toThrow(EventStoreArgumentError);
      });

      it('a filtered read finds a few matches spread over a long log (more than one scan window of an adapter), in order, and so does a filtered subscription', async () => {
        const prefix = unique('sparse');
        const noise = (n: number) => Array.from({ length: n }, (_, i) => event('Noise', { i }));
        const wanted: NewEvent[] = [];
        const wantedEvent = (n: number) => {
          const e = event('Wanted', { n });
          wanted.push(e);
          return [e];
        };
        // Wanted events at the start, between noise blocks of 3,000 (9,000 in all: more than two
        // windows of the SQL adapters' 4,096) and at the end, in two streams of the prefix.
        await append(`${prefix}w`, wantedEvent(0), 'no_stream');
        await append(`${prefix}n`, noise(3000), 'no_stream');
        await append(`${prefix}w`, wantedEvent(1), 0n);
        await append(`${prefix}n`, noise(3000), 2999n);
        await append(`${prefix}n`, noise(3000), 5999n);
        await append(`${prefix}w`, wantedEvent(2), 1n);
        await append(`other-${prefix}w`, [event('Wanted', { n: 'elsewhere' })], 'no_stream');

        const byType = await readAllEventually(store, { streamPrefix: prefix, eventTypes: ['Wanted'] }, wanted.length);
        expect(ids(byType)).toEqual(ids(wanted));
        const reader = store.readFromStart({ filter: { streamPrefix: prefix, eventTypes: ['Wanted'] }, batchSize: 2 });
        expect(ids(await reader.next())).toEqual(ids(wanted.slice(0, 2)));
        expect(ids(await reader.next())).toEqual(ids(wanted.slice(2)));
        expect(await reader.next()).toEqual([]);

        const { seen, handle } = collect(unique('sparse-sub'), { streamPrefix: prefix, eventTypes: ['Wanted'] });
        try {
          await eventually(() => seen.length >= wanted.length, 'the filtered subscription to see every Wanted event');
          expect(ids(seen)).toEqual(ids(wanted));
        } finally {
          await handle.stop();
        }
      }, 60_000);
    });

    describe('property: random interleavings of appends and subscription restarts', () => {
      type Step =
        | { readonly kind: 'append'; readonly stream: number; readonly count: number }
        | { readonly kind: 'concurrent'; readonly streams: readonly number[] }
        | { readonly kind: 'restart' }
        | { readonly kind: 'pause' };

      const step: fc.Arbitrary<Step> = fc.oneof(
        { arbitrary: fc.record({ kind: fc.constant('append' as const), stream: fc.nat(3), count: fc.integer({ min: 1, max: 3 }) }), weight: 4 },
        { arbitrary: fc.record({ kind: fc.constant('concurrent' as const), streams: fc.uniqueArray(fc.nat(3), { minLength: 2, maxLength: 4 }) }), weight: 2 },
        { arbitrary: fc.constant({ kind: 'restart' as const }), weight: 2 },
        { arbitrary: fc.constant({ kind: 'pause' as const }), weight: 1 },
      );

      it('the subscriber sees exactly the log, in log order, once', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
            const prefix = unique('prop');
            const name = `${prefix}sub`;
            const model = new Map<number, string[]>();
            const seen: RecordedEvent[] = [];
            const start = () =>
              store.subscribe(name, {
                filter: { streamPrefix: prefix },
                batchSize: 3,
                pollIntervalMs: POLL_MS,
                handler: (e) => {
                  seen.push(e);
                },
              });
            const appendTo = async (stream: number, count: number) => {
              const revision = (model.get(stream)?.length ?? 0) - 1;
              const batch = Array.from({ length: count }, () => event('Step', { stream }));
              // Reserve the ids before awaiting, so concurrent appends to other streams see a consistent model.
              model.set(stream, [...(model.get(stream) ?? []), ...ids(batch)]);
              await append(`${prefix}${stream}`, batch, revision < 0 ? 'no_stream' : BigInt(revision));
            };
            let handle: SubscriptionHandle | null = start();
            for (const s of steps) {
              if (s.kind === 'append') await appendTo(s.stream, s.count);
              else if (s.kind === 'concurrent') await Promise.all(s.streams.map((stream) => appendTo(stream, 1)));
              else {
                await handle?.stop();
                handle = s.kind === 'restart' ? start() : null;
              }
            }
            handle ??= start();
            const total = [...model.values()].reduce((n, list) => n + list.length, 0);
            await eventually(() => seen.length >= total, `the subscriber to see ${total} events`);
            await handle.stop();

            const log = await readAllEventually(store, { streamPrefix: prefix }, total);
            expect(ids(seen)).toEqual(ids(log));
            expect(new Set(ids(seen))).toEqual(new Set([...model.values()].flat()));
            expect(seen).toHaveLength(total);
            for (const [stream, expected] of model) {
              expect(ids(seen.filter((e) => e.streamId === `${prefix}${stream}`))).toEqual(expected);
            }
          }),
          { numRuns: options.propertyRuns ?? 25 },
        );
      });
    });
  });
}
