import { Logger } from '@nestjs/common';
import { SignoffError } from '@signoff/contracts';
import { EventStoreArgumentError, EventStoreError } from '@signoff/event-store';

const logger = new Logger('EventStore');

/**
 * How an event store error reaches a client, in one place. The driver's text (SQL states, server
 * messages) goes to the log only, never into an answer:
 * - an argument the store refuses (`invalid_argument`: a value it cannot hold) is the request's
 *   fault: 400 `invalid_request`, not an outage to retry;
 * - anything else (unreachable, timed out, closed, failed) is 503 `store_unavailable` with
 *   Retry-After and a generic detail.
 * Version conflicts and duplicate ids are not client errors; callers handle them before this.
 */
export function storeErrorToSignoffError(error: EventStoreError, doing: string): SignoffError {
  if (error instanceof EventStoreArgumentError) {
    logger.warn(`${doing}: the event store refused an argument: ${error.message}`);
    return new SignoffError('invalid_request', 'the request holds a value the event store cannot record', {
      errors: [{ field: '', message: 'a value cannot be recorded as sent' }],
    });
  }
  logger.warn(`${doing}: the event store failed (${error.code}): ${error.message}`);
  return new SignoffError('store_unavailable', 'the event store is unavailable; retry shortly', {}, { 'Retry-After': '1' });
}
