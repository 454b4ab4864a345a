import { HEADERS } from '@signoff/contracts';
import type { InboundMessage, OutboundMessage } from './message-bus.port';

/** Headers never copied into a dead letter: a producer's credential must not reach DLQ readers. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([HEADERS.authorization]);

/** Longest `error-detail` header written. */
export const MAX_ERROR_DETAIL = 4000;

/**
 * The dead letter of a consumed message that will never be processed: the original key, value and
 * headers (credentials removed), plus `error-code`, `error-detail`, `original-topic`,
 * `original-partition` and `original-offset`. Publish it to the topic's `.dlq` and let the
 * partition move on.
 */
export function toDeadLetter(message: InboundMessage, code: string, detail: string): OutboundMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) if (!CREDENTIAL_HEADERS.has(name.toLowerCase())) headers[name] = value;
  return {
    key: message.key ?? '',
    value: message.value ?? Buffer.alloc(0),
    headers: {
      ...headers,
      [HEADERS.errorCode]: code,
      [HEADERS.errorDetail]: detail.slice(0, MAX_ERROR_DETAIL),
      'original-topic': message.topic,
      'original-partition': String(message.partition),
      'original-offset': message.offset,
    },
  };
}
