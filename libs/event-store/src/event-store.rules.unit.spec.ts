import { describe, expect, it } from 'vitest';
import { EventStoreArgumentError } from './event-store.errors';
import type { ExpectedRevision, NewEvent } from './event-store.port';
import {
  classifyRepeat,
  expectationHolds,
  headCondition,
  type HeadCondition,
  matchesFilter,
  validateEvents,
  validateExpectedRevision,
  validateReadAllOptions,
  validateReadStreamOptions,
  validateStreamId,
  validateSubscription,
} from './event-store.rules';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const C = 'cccccccc-0000-4000-8000-000000000003';

describe('expectationHolds', () => {
  const cases: Array<[ExpectedRevision, bigint | 'no_stream', boolean]> = [
    ['any', 'no_stream', true],
    ['any', 4n, true],
    ['no_stream', 'no_stream', true],
    ['no_stream', 0n, false],
    ['stream_exists', 'no_stream', false],
    ['stream_exists', 0n, true],
    [0n, 'no_stream', false],
    [3n, 3n, true],
    [3n, 2n, false],
    [3n, 4n, false],
  ];
  it.each(cases)('expected %s, current %s -> %s', (expected, current, holds) => {
    expect(expectationHolds(expected, current)).toBe(holds);
  });
});

describe('headCondition', () => {
  /** The SQL append's WHERE clause, transcribed: the head (-1: no stream) against the condition. */
  function sqlAllows(condition: HeadCondition, current: bigint | 'no_stream'): boolean {
    const head = current === 'no_stream' ? -1n : current;
    return (condition.exact === null || head === condition.exact) && (!condition.mustExist || head >= 0n);
  }

  it('makes the SQL check agree with expectationHolds for every expectation and head', () => {
    const expectations: ExpectedRevision[] = ['any', 'no_stream', 'stream_exists', 0n, 1n, 7n];
    const heads: Array<bigint | 'no_stream'> = ['no_stream', 0n, 1n, 2n, 7n];
    for (const expected of expectations) {
      for (const current of heads) expect(sqlAllows(headCondition(expected), current)).toBe(expectationHolds(expected, current));
    }
  });
});

describe('classifyRepeat', () => {
  const stored = [
    { id: A, revision: 3n, position: 30n },
    { id: B, revision: 4n, position: 31n },
  ];

  it('no stored ids: nothing to say', () => {
    expect(classifyRepeat([A, B], [], 2n)).toEqual({ kind: 'none' });
  });

  it('the whole batch, consecutive, at the expected place: the original result', () => {
    const original = { kind: 'idempotent', result: { nextRevision: 4n, position: 31n } };
    expect(classifyRepeat([A, B], stored, 2n)).toEqual(original);
    expect(classifyRepeat([A, B], stored, 'any')).toEqual(original);
    expect(classifyRepeat([A, B], stored, 'stream_exists')).toEqual(original);
    expect(classifyRepeat([A.toUpperCase(), B], stored, 2n)).toEqual(original);
  });

  it('no_stream repeats only a batch that starts the stream', () => {
    expect(classifyRepeat([A], [{ id: A, revision: 0n, position: 1n }], 'no_stream')).toEqual({
      kind: 'idempotent',
      result: { nextRevision: 0n, position: 1n },
    });
    expect(classifyRepeat([A, B], stored, 'no_stream')).toEqual({ kind: 'duplicate', ids: [A, B] });
  });

  it('another place, another order or a partial overlap is a duplicate', () => {
    expect(classifyRepeat([A, B], stored, 1n)).toEqual({ kind: 'duplicate', ids: [A, B] });
    expect(classifyRepeat([B, A], stored, 'any')).toEqual({ kind: 'duplicate', ids: [B, A] });
    expect(classifyRepeat([A, C], stored, 2n)).toEqual({ kind: 'duplicate', ids: [A] });
    expect(classifyRepeat([A], [{ id: A, revision: 3n, position: 30n }, { id: C, revision: 5n, position: 40n }], 2n)).toEqual({
      kind: 'idempotent',
      result: { nextRevision: 3n, position: 30n },
    });
  });
});

describe('validateEvents', () => {
  const ok: NewEvent = { id: A.toUpperCase(), type: 'JobSubmitted', data: { job_id: 'j1' } };

  it('normalises ids to lower case and defaults metadata to {}', () => {
    expect(validateEvents([ok, { id: B, type: 'X', data: [1, 2], metadata: { actor: 'u' } }])).toEqual([
      { id: A, type: 'JobSubmitted', data: { job_id: 'j1' }, metadata: {} },
      { id: B, type: 'X', data: [1, 2], metadata: { actor: 'u' } },
    ]);
  });

  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: Array<[string, unknown[], RegExp]> = [
    ['not an array', 'x' as unknown as unknown[], /must be an array/],
    ['not an object', [null], /must be an object/],
    ['id not a UUID', [{ ...ok, id: 'job-1' }], /id must be a UUID/],
    ['the same id twice', [ok, { ...ok, id: A }], /appears twice/],
    ['empty type', [{ ...ok, type: '' }], /type must be a non-empty string/],
    ['scalar data', [{ ...ok, data: 'text' }], /data must be a JSON object or array/],
    ['missing data', [{ id: A, type: 'X' }], /data must be a JSON object or array/],
    ['bigint in data', [{ ...ok, data: { n: 1n } }], /data is not JSON/],
    ['cyclic data', [{ ...ok, data: cyclic }], /data is not JSON/],
    ['array metadata', [{ ...ok, metadata: [] }], /metadata must be a JSON object/],
    ['class metadata', [{ ...ok, metadata: new Date() }], /metadata must be a JSON object/],
  ];
  it.each(bad)('refuses %s', (_what, events, message) => {
    expect(() => validateEvents(events as NewEvent[])).toThrow(EventStoreArgumentError);
    expect(() => validateEvents(events as NewEvent[])).toThrow(message);
  });
});

describe('argument checks', () => {
  it('stream ids and expected revisions', () => {
    expect(validateStreamId('job-1')).toBe('job-1');
    expect(() => validateStreamId('')).toThrow(EventStoreArgumentError);
    expect(() => validateStreamId(7)).toThrow(EventStoreArgumentError);
    for (const good of ['any', 'no_stream', 'stream_exists', 0n, 12n] as const) expect(validateExpectedRevision(good)).toBe(good);
    for (const bad of [-1n, 3, 'latest', undefined, null]) expect(() => validateExpectedRevision(bad)).toThrow(EventStoreArgumentError);
  });

  it('read options', () => {
    expect(() => validateReadStreamOptions({ fromRevision: 0n, direction: 'backwards', maxCount: 0 })).not.toThrow();
    expect(() => validateReadStreamOptions({ fromRevision: -1n })).toThrow(EventStoreArgumentError);
    expect(() => validateReadStreamOptions({ fromRevision: 1 as unknown as bigint })).toThrow(EventStoreArgumentError);
    expect(() => validateReadStreamOptions({ direction: 'up' as never })).toThrow(EventStoreArgumentError);
    expect(() => validateReadStreamOptions({ maxCount: 1.5 })).toThrow(EventStoreArgumentError);
    expect(() => validateReadAllOptions({ fromPosition: 0n, maxCount: 10, filter: { streamPrefix: 'job-', eventTypes: [] } })).not.toThrow();
    expect(() => validateReadAllOptions({ fromPosition: -5n })).toThrow(EventStoreArgumentError);
    expect(() => validateReadAllOptions({ filter: { eventTypes: 'JobSubmitted' as never } })).toThrow(EventStoreArgumentError);
    expect(() => validateReadAllOptions({ filter: { streamPrefix: 3 as never } })).toThrow(EventStoreArgumentError);
  });

  it('subscriptions', () => {
    expect(() => validateSubscription('projector', { handler: () => undefined, batchSize: 10, pollIntervalMs: 0 })).not.toThrow();
    expect(() => validateSubscription('', { handler: () => undefined })).toThrow(EventStoreArgumentError);
    expect(() => validateSubscription('p', {})).toThrow(/handler must be a function/);
    expect(() => validateSubscription('p', { handler: () => undefined, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => validateSubscription('p', { handleBatch: async () => undefined })).not.toThrow();
    expect(() => validateSubscription('p', { handler: () => undefined, handleBatch: async () => undefined })).toThrow(/exactly one of handler and handleBatch/);
    expect(() => validateSubscription('p', { handler: 'nope', handleBatch: async () => undefined })).toThrow(EventStoreArgumentError);
    expect(() => validateSubscription('p', { handler: () => undefined, leaseMs: 5 })).toThrow(/leaseMs/);
    expect(() => validateSubscription('p', { handler: () => undefined, leaseMs: 2_000 })).not.toThrow();
    expect(() => validateSubscription('p', { handler: () => undefined, checkpointIntervalMs: 100 })).not.toThrow();
    expect(() => validateSubscription('p', { handler: () => undefined, checkpointIntervalMs: -1 })).toThrow(/checkpointIntervalMs/);
  });
});

describe('matchesFilter', () => {
  const e = { streamId: 'job-1', type: 'JobSubmitted' };
  it('matches prefix and types, both when both are given', () => {
    expect(matchesFilter(e, undefined)).toBe(true);
    expect(matchesFilter(e, {})).toBe(true);
    expect(matchesFilter(e, { streamPrefix: 'job-' })).toBe(true);
    expect(matchesFilter(e, { streamPrefix: 'policy' })).toBe(false);
    expect(matchesFilter(e, { eventTypes: ['JobSubmitted', 'X'] })).toBe(true);
    expect(matchesFilter(e, { eventTypes: [] })).toBe(false);
    expect(matchesFilter(e, { streamPrefix: 'job-', eventTypes: ['X'] })).toBe(false);
  });
});
