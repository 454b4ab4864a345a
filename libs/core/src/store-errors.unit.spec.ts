import { describe, expect, it } from 'vitest';
import { EventStoreArgumentError, EventStoreClosedError, EventStoreError, EventStoreUnavailableError } from '@signoff/event-store';
import { storeErrorToSignoffError } from './store-errors';

const SQL_TEXT = /SQLSTATE|syntax|invalid byte sequence|unsupported Unicode escape|22P0/i;

describe('store errors as client answers', () => {
  it('an argument the store refuses is 400 invalid_request, without the driver text', () => {
    const error = storeErrorToSignoffError(new EventStoreArgumentError('append: unsupported Unicode escape sequence (SQLSTATE 22P05)'), 'appending');
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(JSON.stringify(error.toProblem())).not.toMatch(SQL_TEXT);
  });

  it('an outage stays 503 store_unavailable with Retry-After and a generic detail', () => {
    for (const cause of [
      new EventStoreUnavailableError('connect ECONNREFUSED 127.0.0.1:5432'),
      new EventStoreClosedError(),
      new EventStoreError('store_failure', 'append: syntax error at or near "x" (SQLSTATE 42601)'),
    ]) {
      const error = storeErrorToSignoffError(cause, 'reading');
      expect(error).toMatchObject({ code: 'store_unavailable', status: 503, headers: { 'Retry-After': '1' } });
      expect(JSON.stringify(error.toProblem())).not.toMatch(SQL_TEXT);
      expect(error.message).not.toContain(cause.message);
    }
  });
});
