import { HEADERS } from '@signoff/contracts';
import type { InboundMessage, OutboundMessage } from './message-bus.port';

/**
 * Headers never copied into a dead letter: a producer's or worker's credential
 * (`authorization: Bearer <JWT>`) must not reach whoever reads a DLQ. Compared case-insensitively.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([HEADERS.authorization]);

/** Longest `error-detail` header written. */
export const MAX_ERROR_DETAIL = 4000;

/**
 * The dead letter of a consumed message that will never be processed (built by MessageDelivery
 * only: handlers throw, they do not publish dead letters): the original key, value and headers
 * with the credentials removed, then the subscription's own `extra` headers (e.g. `refused-by`),
 * then `error-code`, `error-detail` (at most {@link MAX_ERROR_DETAIL} characters),
 * `original-topic`, `original-partition` and `original-offset`, which nothing in the message can
 * override.
 */
export function deadLetterRecord(
  message: InboundMessage,
  failure: { readonly code: string; readonly detail: string },
  extra: Readonly<Record<string, string>> = {},
): OutboundMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name] = value;
  for (const [name, value] of Object.entries(extra)) if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name] = value;
  return {
    key: message.key ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: {
      ...headers,
      [HEADERS.errorCode]: failure.code,
      [HEADERS.errorDetail]: failure.detail.slice(0, MAX_ERROR_DETAIL),
      [HEADERS.originalTopic]: message.topic,
      [HEADERS.originalPartition]: String(message.partition),
      [HEADERS.originalOffset]: message.offset,
    },
  };
}
