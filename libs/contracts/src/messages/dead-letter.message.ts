import 'reflect-metadata';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { HEADERS } from '../topics';
import { validateMessage } from '../validation';
import type { MessageRecord } from './message-record';

/**
 * The dead-letter topics `<topic>.dlq` (DESIGN sections 6 and 12): a consumed message that will
 * never be processed, with its key, value and headers as they arrived (credentials removed) and
 * the dead-letter headers of {@link DeadLetterHeaders}. Produced by @signoff/messaging's
 * MessageDelivery (through {@link deadLetterMessage}) for every Signoff consumer; read by
 * operators and tests ({@link readDeadLetterHeaders}).
 */

/** Version of the dead-letter record described here (not on the wire). */
export const DEAD_LETTER_MESSAGE_VERSION = 1;

/**
 * Headers never copied into a dead letter: a producer's or worker's credential
 * (`authorization: Bearer <JWT>`) must not reach whoever reads a DLQ. Compared case-insensitively.
 */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([HEADERS.authorization]);

/** Longest `error-detail` header written. */
export const MAX_ERROR_DETAIL = 4000;

/** What a dead letter adds to the original headers: why, and where it was consumed from. */
export interface DeadLetterHeaders {
  /** An ErrorCode such as `invalid_request` (or a worker's refusal code such as `unsigned`). */
  readonly 'error-code': string;
  /** A human-readable reason, at most {@link MAX_ERROR_DETAIL} characters. */
  readonly 'error-detail': string;
  readonly 'original-topic': string;
  readonly 'original-partition': string;
  readonly 'original-offset': string;
}

/** Validates the dead-letter headers of a DLQ record (the original headers beside them are not checked). */
export class DeadLetterHeadersDto {
  @IsString() @IsNotEmpty() 'error-code'!: string;
  @IsString() @MaxLength(MAX_ERROR_DETAIL) 'error-detail'!: string;
  @IsString() @IsNotEmpty() 'original-topic'!: string;
  @IsString() @Matches(/^[0-9]+$/) 'original-partition'!: string;
  @IsString() @Matches(/^[0-9]+$/) 'original-offset'!: string;
}

/** A consumed message as a dead letter is made from it (structurally an `InboundMessage` of @signoff/messaging). */
export interface DeadLetteredOriginal {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The dead letter of a consumed message: the original key and value (bytes unchanged) and
 * headers with the credentials removed, then `extra` (the subscription's own headers, e.g. the
 * worker SDK's `refused-by`), then `error-code`, `error-detail` (cut to
 * {@link MAX_ERROR_DETAIL} characters), `original-topic`, `original-partition` and
 * `original-offset`, which nothing in the message can override.
 */
export function deadLetterMessage(
  message: DeadLetteredOriginal,
  failure: { readonly code: string; readonly detail: string },
  extra: Readonly<Record<string, string>> = {},
): MessageRecord<Buffer> {
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

/** The dead-letter headers of a DLQ record, validated with {@link DeadLetterHeadersDto}; null when they are not all there. */
export function readDeadLetterHeaders(headers: Readonly<Record<string, string | undefined>>): DeadLetterHeaders | null {
  const names = [HEADERS.errorCode, HEADERS.errorDetail, HEADERS.originalTopic, HEADERS.originalPartition, HEADERS.originalOffset] as const;
  const picked: Record<string, unknown> = {};
  for (const name of names) picked[name] = headers[name];
  const parsed = validateMessage(DeadLetterHeadersDto, picked);
  return parsed.ok ? (picked as unknown as DeadLetterHeaders) : null;
}
