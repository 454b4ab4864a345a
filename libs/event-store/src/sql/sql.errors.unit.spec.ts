import { describe, expect, it } from 'vitest';
import {
  EventStoreArgumentError,
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedVersionError,
} from '../event-store.errors';
import { LOG_START, compareLogCursors } from './sql.event-store';
import { isUniqueViolation, sqlState, translateSqlError } from './sql.errors';

function pgError(code: string, message = `failed with ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('translateSqlError', () => {
  it('keeps event store errors as they are', () => {
    const error = new WrongExpectedVersionError('s', 1n, 2n);
    expect(translateSqlError(error, 'append')).toBe(error);
  });

  it.each(['08006', '57014', '57P01', '53300', '40001', '40P01', '55P03', '25P03'])('SQLSTATE %s is transient: unavailable', (code) => {
    const error = translateSqlError(pgError(code), 'append');
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect(error.message).toContain(code);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('bad values are argument errors, anything else a store failure', () => {
    expect(translateSqlError(pgError('22P05'), 'append')).toBeInstanceOf(EventStoreArgumentError);
    const other = translateSqlError(pgError('42P01', 'relation does not exist'), 'read all');
    expect(other).toBeInstanceOf(EventStoreError);
    expect(other.code).toBe('store_failure');
    expect(other.message).toBe('read all: relation does not exist (SQLSTATE 42P01)');
  });

  it('socket and pool errors without SQLSTATE are unavailable', () => {
    expect(translateSqlError(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'open')).toBeInstanceOf(EventStoreUnavailableError);
    expect(translateSqlError(new Error('timeout exceeded when trying to connect'), 'append')).toBeInstanceOf(EventStoreUnavailableError);
    expect(translateSqlError(new Error('Connection terminated unexpectedly'), 'append')).toBeInstanceOf(EventStoreUnavailableError);
    expect(translateSqlError('weird', 'append').code).toBe('store_failure');
  });

  it('recognises SQLSTATEs and unique violations', () => {
    expect(sqlState(pgError('23505'))).toBe('23505');
    expect(sqlState(pgError('ECONNRESET'))).toBeUndefined();
    expect(isUniqueViolation(pgError('23505'))).toBe(true);
    expect(isUniqueViolation(pgError('23503'))).toBe(false);
  });
});

describe('compareLogCursors', () => {
  it('orders by transaction first, then position', () => {
    expect(compareLogCursors({ txId: 5n, position: 100n }, { txId: 6n, position: 1n })).toBeLessThan(0);
    expect(compareLogCursors({ txId: 6n, position: 2n }, { txId: 6n, position: 1n })).toBeGreaterThan(0);
    expect(compareLogCursors({ txId: 6n, position: 2n }, { txId: 6n, position: 2n })).toBe(0);
    expect(compareLogCursors(LOG_START, { txId: 1n, position: 1n })).toBeLessThan(0);
  });
});
