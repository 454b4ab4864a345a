import { CREDENTIAL_HEADERS, deadLetterMessage, MAX_ERROR_DETAIL } from '@signoff/contracts';
import type { InboundMessage, OutboundMessage } from './message-bus.port';

// The dead-letter record is defined with the other messages in @signoff/contracts; these names stay exported here.
export { CREDENTIAL_HEADERS, MAX_ERROR_DETAIL };

/**
 * The dead letter of a consumed message that will never be processed (built by MessageDelivery
 * only: handlers throw, they do not publish dead letters): `deadLetterMessage` of
 * @signoff/contracts, i.e. the original key, value and headers with the credentials removed,
 * then the subscription's own `extra` headers (e.g. `refused-by`), then `error-code`,
 * `error-detail` (at most {@link MAX_ERROR_DETAIL} characters), `original-topic`,
 * `original-partition` and `original-offset`, which nothing in the message can override.
 */
export function deadLetterRecord(
  message: InboundMessage,
  failure: { readonly code: string; readonly detail: string },
  extra: Readonly<Record<string, string>> = {},
): OutboundMessage {
  return deadLetterMessage(message, failure, extra);
}
