import { ERROR_CODES, SignoffError } from '@signoff/contracts';
import { EventStoreArgumentError, EventStoreError, WrongExpectedVersionError, DuplicateEventIdError } from '@signoff/event-store';

/**
 * Why handling a consumed message failed, and what the bus does about it:
 * - `permanent`: the message itself is bad (invalid, refused, unauthenticated, too large, a value
 *   the store refuses, or a bug in its handler). Retrying cannot help: the message is moved to
 *   its topic's dead-letter topic with `code` and `detail`, and the partition moves on.
 * - `transient`: something the message depends on is down or contended (the event store, the
 *   broker, the policy, a lease held by another worker). The message is retried with back-off,
 *   never skipped, and handled once the cause is gone.
 */
export interface MessageFailure {
  readonly kind: 'permanent' | 'transient';
  /** A stable code: an ErrorCode (`invalid_request`, `store_unavailable`, ...) or `broker_unavailable`. */
  readonly code: string;
  readonly detail: string;
}

/** Thrown by a handler to dead-letter the message it was given, with this code and detail. */
export class PermanentMessageError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
    this.name = 'PermanentMessageError';
  }
}

/** Thrown by a handler to have its message retried later (with back-off), whatever the cause. */
export class TransientMessageError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransientMessageError';
  }
}

/**
 * Reasons (the `reason` extension of a SignoffError) that make an otherwise transient 5xx a
 * verdict on the message: `evaluation_budget_exceeded` is the 503 `policy_unavailable` of an
 * evaluation that overran its CPU budget; the same job under the same policy overruns again on
 * every retry, so it is dead-lettered instead of blocking its partition.
 */
const PERMANENT_REASONS: ReadonlySet<string> = new Set(['evaluation_budget_exceeded']);

/**
 * Whether a SignoffError means "not now" rather than "never": every 5xx code is an outage of
 * something the message depends on (503 `store_unavailable`, `policy_unavailable`, `busy`,
 * `auth_unavailable`, and any 503 code added later), except 500 `internal` (a bug: retrying the
 * same message fails the same way) and a 5xx whose `reason` is in PERMANENT_REASONS. Every 4xx
 * code is a verdict on the message. (`throttled`, 429, is a verdict too: on Kafka there is nobody
 * to answer 429 to, and waiting out a throttle window would block the partition; upstream
 * re-drives the message from the DLQ.)
 */
function isTransientSignoffError(error: SignoffError): boolean {
  if (error.code === 'internal') return false;
  const reason = error.extensions.reason;
  if (typeof reason === 'string' && PERMANENT_REASONS.has(reason)) return false;
  return (ERROR_CODES[error.code] ?? 500) >= 500;
}

/** kafkajs protocol errors about the record itself: sending it again cannot succeed. */
const MESSAGE_REFUSED_BY_BROKER: ReadonlySet<string> = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/** kafkajs error classes that mean "the broker is not reachable or not ready (yet)". */
const TRANSIENT_KAFKAJS_ERRORS: ReadonlySet<string> = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSStaleTopicMetadataAssignment',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSTimeout',
  'KafkaJSLockTimeout',
]);

const MAX_DETAIL = 4000;

/** The error and what it wraps (`cause`, kafkajs's `originalError`, aggregate `errors`), outermost first. */
function chain(error: unknown): unknown[] {
  const seen: unknown[] = [];
  const stack: unknown[] = [error];
  while (stack.length > 0 && seen.length < 32) {
    const e = stack.shift();
    if (typeof e !== 'object' || e === null || seen.includes(e)) continue;
    seen.push(e);
    const c = e as { cause?: unknown; originalError?: unknown; errors?: unknown };
    stack.push(c.cause, c.originalError);
    if (Array.isArray(c.errors)) stack.push(...(c.errors as unknown[]));
  }
  return seen;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a broker error means, or null when the error is not a broker's: `message` when the broker
 * refused the record itself (too large, invalid), `transient` when the broker is unreachable, not
 * ready, electing leaders or not (yet) hosting a topic, `fatal` for any other refusal (bad
 * credentials or ACLs, an invalid topic configuration): retrying does not help, an operator does.
 * Duck-typed on kafkajs's error shape (`name`, `type`, `retriable`), so callers need not import it.
 */
export function brokerFailure(error: unknown): 'message' | 'transient' | 'fatal' | null {
  let kafka = false;
  let transient = false;
  for (const e of chain(error)) {
    const c = e as { name?: unknown; type?: unknown; retriable?: unknown; message?: unknown; code?: unknown };
    const name = typeof c.name === 'string' ? c.name : '';
    if (name.startsWith('KafkaJS')) kafka = true;
    if (typeof c.type === 'string' && MESSAGE_REFUSED_BY_BROKER.has(c.type) && name.startsWith('KafkaJS')) return 'message';
    if (name.startsWith('KafkaJS') && (c.retriable === true || TRANSIENT_KAFKAJS_ERRORS.has(name))) transient = true;
    if (typeof c.message === 'string' && /does not host this topic-partition/.test(c.message)) transient = true;
    // Node socket errors under a kafkajs error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...).
    if (kafka && typeof c.code === 'string' && /^E[A-Z]+$/.test(c.code)) transient = true;
  }
  if (!kafka) return null;
  return transient ? 'transient' : 'fatal';
}

/**
 * Classifies a handler's failure (the one table every consumer shares):
 *
 * | failure | kind | code |
 * | --- | --- | --- |
 * | PermanentMessageError / TransientMessageError | as thrown | as thrown |
 * | SignoffError with a 5xx status (`store_unavailable`, `policy_unavailable`, `busy`, `auth_unavailable`) | transient | its code |
 * | ...but `internal` (500, a bug), or a 5xx with `reason: evaluation_budget_exceeded` (an evaluation over its CPU budget) | permanent | its code |
 * | any 4xx SignoffError (`invalid_request`, `reserved_label`, `payload_too_large`, `unauthenticated`, `forbidden`, `throttled`, `job_request_changed`, `not_found`, `not_dispatched`, ...) | permanent | its code |
 * | EventStoreArgumentError (a value the store refuses, e.g. SQLSTATE 22P05 / 22021: a NUL byte) | permanent | `invalid_request` |
 * | WrongExpectedVersionError, DuplicateEventIdError | transient | `busy` |
 * | any other EventStoreError (unavailable, closed, failure) | transient | `store_unavailable` |
 * | a broker error about the record (MESSAGE_TOO_LARGE, INVALID_RECORD) | permanent | `payload_too_large` / `invalid_request` |
 * | any other broker error (connection, timeout, leader election, unknown topic, ACLs) | transient | `broker_unavailable` |
 * | a driver error with a SQLSTATE of class 22 or 23 (data, integrity) | permanent | `invalid_request` |
 * | a driver error with any other SQLSTATE, a Node socket error (`ECONNREFUSED`, ...), an AbortError / TimeoutError | transient | `store_unavailable` / `unavailable` |
 * | a SyntaxError (unparseable) | permanent | `invalid_request` |
 * | anything else (a bug in the handler) | permanent | `internal` |
 *
 * Unexpected errors are permanent on purpose: a bug that fails on one message would otherwise
 * block its partition for good; in the DLQ the message is kept and can be re-driven after a fix.
 */
export function classifyFailure(error: unknown): MessageFailure {
  const permanent = (code: string, detail: string): MessageFailure => ({ kind: 'permanent', code, detail: detail.slice(0, MAX_DETAIL) });
  const transient = (code: string, detail: string): MessageFailure => ({ kind: 'transient', code, detail: detail.slice(0, MAX_DETAIL) });

  if (error instanceof PermanentMessageError) return permanent(error.code, error.detail);
  if (error instanceof TransientMessageError) return transient(error.code, error.message);
  if (error instanceof SignoffError) {
    if (isTransientSignoffError(error)) return transient(error.code, error.message);
    const fields = error.extensions.errors;
    return permanent(error.code, fields ? `${error.message}: ${JSON.stringify(fields)}` : error.message);
  }
  if (error instanceof EventStoreArgumentError) return permanent('invalid_request', `the event store refused a value of this message: ${error.message}`);
  if (error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError) return transient('busy', error.message);
  if (error instanceof EventStoreError) return transient('store_unavailable', error.message);

  const broker = brokerFailure(error);
  if (broker === 'message') {
    const tooLarge = chain(error).some((e) => /TOO_LARGE/.test(String((e as { type?: unknown }).type)));
    return permanent(tooLarge ? 'payload_too_large' : 'invalid_request', `the broker refused a record: ${describe(error)}`);
  }
  if (broker !== null) return transient('broker_unavailable', describe(error));

  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return ['22', '23'].includes(code.slice(0, 2))
      ? permanent('invalid_request', `the database refused a value of this message (SQLSTATE ${code})`)
      : transient('store_unavailable', `${describe(error)} (SQLSTATE ${code})`);
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return transient('unavailable', describe(error));
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'AbortError' || name === 'TimeoutError') return transient('unavailable', describe(error));
  if (error instanceof SyntaxError) return permanent('invalid_request', `unparseable: ${error.message}`);
  return permanent('internal', `unexpected error: ${describe(error)}`);
}
