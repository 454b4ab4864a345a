import { describe, expect, it } from 'vitest';
import {
  EventStoreArgumentError,
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import {
  comparePositions,
  fromResolvedEvent,
  toKurrentConnectionString,
  toStreamState,
  translateKurrentError,
} from './kurrentdb.event-store';

/** Errors shaped like @kurrent/kurrentdb-client's (they carry a string `type`). */
function clientError(type: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`client says ${type}`), { type, ...extra });
}

describe('KurrentDB adapter mapping (no server needed)', () => {
  it('passes expectations as streamState and rewrites the deprecated esdb schemes', () => {
    expect(toStreamState('no_stream')).toBe('no_stream');
    expect(toStreamState('stream_exists')).toBe('stream_exists');
    expect(toStreamState('any')).toBe('any');
    expect(toStreamState(7n)).toBe(7n);
    expect(toKurrentConnectionString('esdb://localhost:2113?tls=false')).toBe('kurrentdb://localhost:2113?tls=false');
    expect(toKurrentConnectionString('esdb+discover://a:2113,b:2113')).toBe('kurrentdb+discover://a:2113,b:2113');
    expect(toKurrentConnectionString('kurrentdb://h:2113')).toBe('kurrentdb://h:2113');
  });

  it('turns client errors into the port errors', () => {
    const wrong = translateKurrentError(clientError('wrong-expected-version', { expectedState: 3n, actualState: 5n }), 'append', {
      stream: 'job-1',
      expected: 3n,
    });
    expect(wrong).toBeInstanceOf(WrongExpectedVersionError);
    expect(wrong).toMatchObject({ streamId: 'job-1', expected: 3n, actual: 5n });
    expect(
      translateKurrentError(clientError('wrong-expected-version', { actualState: 'no_stream' }), 'append', {
        stream: 's',
        expected: 'stream_exists',
      }),
    ).toMatchObject({ actual: 'no_stream' });
    for (const type of ['unavailable', 'deadline-exceeded', 'timeout', 'cancelled', 'not-leader']) {
      expect(translateKurrentError(clientError(type), 'read')).toBeInstanceOf(EventStoreUnavailableError);
    }
    expect(translateKurrentError(clientError('maximum-append-size-exceeded'), 'append')).toBeInstanceOf(EventStoreArgumentError);
    const other = translateKurrentError(clientError('access-denied'), 'read $all');
    expect(other).toBeInstanceOf(EventStoreError);
    expect(other.code).toBe('store_failure');
    expect(other.message).toBe('read $all: client says access-denied');
  });

  it('orders positions by commit, then prepare', () => {
    expect(comparePositions({ commit: 1n, prepare: 9n }, { commit: 2n, prepare: 0n })).toBeLessThan(0);
    expect(comparePositions({ commit: 2n, prepare: 1n }, { commit: 2n, prepare: 0n })).toBeGreaterThan(0);
    expect(comparePositions({ commit: 2n, prepare: 2n }, { commit: 2n, prepare: 2n })).toBe(0);
  });

  it('maps recorded events, parsing binary metadata', () => {
    const created = new Date('2025-01-01T00:00:00Z');
    const recorded = fromResolvedEvent({
      event: {
        streamId: 'job-1',
        id: '0b9c2a6e-5a6f-4d4e-9a3b-0d6c5e1f2a3b',
        isJson: true,
        revision: 4n,
        type: 'JobSubmitted',
        created,
        data: { job_id: '1' },
        metadata: new Uint8Array(Buffer.from('{"actor":"u"}')),
        position: { commit: 100n, prepare: 100n },
      },
    });
    expect(recorded).toEqual({
      id: '0b9c2a6e-5a6f-4d4e-9a3b-0d6c5e1f2a3b',
      type: 'JobSubmitted',
      data: { job_id: '1' },
      metadata: { actor: 'u' },
      streamId: 'job-1',
      revision: 4n,
      position: 100n,
      createdAt: created,
    });
    expect(fromResolvedEvent({})).toBeNull();
  });
});
