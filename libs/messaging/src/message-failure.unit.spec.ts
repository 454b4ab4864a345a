import { KafkaJSAggregateError, KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ErrorCode, SignoffError } from '@signoff/contracts';
import {
  DuplicateEventIdError,
  EventStoreArgumentError,
  EventStoreClosedError,
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedVersionError,
} from '@signoff/event-store';
import { backoffDelay } from './message-delivery';
import { brokerFailure, classifyFailure, PermanentMessageError, TransientMessageError } from './message-failure';

// kafkajs's own protocol error table: the errors below are the ones the client really throws.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode: (code: number) => KafkaJSProtocolError };
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const LEADER_NOT_AVAILABLE = 5;
const MESSAGE_TOO_LARGE = 10;
const TOPIC_ALREADY_EXISTS = 36;
const NOT_CONTROLLER = 41;
const TOPIC_AUTHORIZATION_FAILED = 29;

/** A node-postgres / PGlite driver error (they expose the SQLSTATE as `code`). */
function sqlError(code: string, message = 'driver error'): Error {
  return Object.assign(new Error(message), { code });
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
}

describe('classifyFailure: the one table of permanent and transient handler failures', () => {
  const cases: [string, unknown, 'permanent' | 'transient', string][] = [
    ['an explicit dead letter', new PermanentMessageError('job_hash_mismatch', 'recomputed hash differs'), 'permanent', 'job_hash_mismatch'],
    ['an explicit retry', new TransientMessageError('busy', 'lease held by w-2'), 'transient', 'busy'],
    ['validation', new SignoffError('invalid_request', 'the job request is invalid'), 'permanent', 'invalid_request'],
    ['a reserved label', new SignoffError('reserved_label', 'approval_* is reserved'), 'permanent', 'reserved_label'],
    ['too large', new SignoffError('payload_too_large', '2 MiB'), 'permanent', 'payload_too_large'],
    ['unauthenticated', new SignoffError('unauthenticated', 'no credential header'), 'permanent', 'unauthenticated'],
    ['forbidden', new SignoffError('forbidden', 'tenant not allowed'), 'permanent', 'forbidden'],
    ['throttled (nobody to answer 429 to on Kafka)', new SignoffError('throttled', 'rate limit'), 'permanent', 'throttled'],
    ['the same id with other content', new SignoffError('job_request_changed', 'different hash'), 'permanent', 'job_request_changed'],
    ['an unknown job', new SignoffError('not_found', 'no such job'), 'permanent', 'not_found'],
    ['store outage (503)', new SignoffError('store_unavailable', 'the event store is unavailable'), 'transient', 'store_unavailable'],
    ['policy outage (503)', new SignoffError('policy_unavailable', 'evaluation timed out'), 'transient', 'policy_unavailable'],
    ['contention (503 busy)', new SignoffError('busy', 'too much contention'), 'transient', 'busy'],
    ['the key set cannot be fetched (503 auth_unavailable: says nothing about the token)', new SignoffError('auth_unavailable', 'JWKS unreachable'), 'transient', 'auth_unavailable'],
    [
      'an evaluation over its CPU budget (503 policy_unavailable, reason evaluation_budget_exceeded: overruns again on every retry)',
      new SignoffError('policy_unavailable', 'evaluation exceeded its budget of 100 ms', { reason: 'evaluation_budget_exceeded' }),
      'permanent',
      'policy_unavailable',
    ],
    ['a result for an attempt never dispatched (409)', new SignoffError('not_dispatched', 'attempt 7 was never dispatched'), 'permanent', 'not_dispatched'],
    ['a SignoffError internal (500: a bug)', new SignoffError('internal', 'internal error'), 'permanent', 'internal'],
    ['a value the store refuses (SQLSTATE 22P05: NUL in jsonb)', new EventStoreArgumentError('append: unsupported Unicode escape sequence (SQLSTATE 22P05)'), 'permanent', 'invalid_request'],
    ['a store outage', new EventStoreUnavailableError('connect ECONNREFUSED (SQLSTATE 08006)'), 'transient', 'store_unavailable'],
    ['a closed store', new EventStoreClosedError(), 'transient', 'store_unavailable'],
    ['a generic store failure', new EventStoreError('store_failure', 'stream head moved under its lock'), 'transient', 'store_unavailable'],
    ['an expected-version conflict', new WrongExpectedVersionError('job-1', 1n, 2n), 'transient', 'busy'],
    ['a duplicate event id', new DuplicateEventIdError('job-1', ['e1']), 'transient', 'busy'],
    ['a raw driver error, data exception (22P02)', sqlError('22P02', 'invalid input syntax for type json'), 'permanent', 'invalid_request'],
    ['a raw driver error, integrity (23502)', sqlError('23502'), 'permanent', 'invalid_request'],
    ['a raw driver error, admin shutdown (57P01)', sqlError('57P01'), 'transient', 'store_unavailable'],
    ['a raw driver error, connection failure (08006)', sqlError('08006'), 'transient', 'store_unavailable'],
    ['a Node socket error', socketError('ECONNREFUSED'), 'transient', 'unavailable'],
    ['an aborted call', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'transient', 'unavailable'],
    ['broker: unknown topic (a topic still being created)', createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION), 'transient', 'broker_unavailable'],
    ['broker: leader election', createErrorFromCode(LEADER_NOT_AVAILABLE), 'transient', 'broker_unavailable'],
    ['broker: connection lost', new KafkaJSConnectionError('Connection error: ECONNREFUSED'), 'transient', 'broker_unavailable'],
    [
      'broker: retries exhausted on a connection error',
      new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection timeout'), { retryCount: 5, retryTime: 1000 }),
      'transient',
      'broker_unavailable',
    ],
    ['broker: ACLs (an operator fixes them; not the message)', createErrorFromCode(TOPIC_AUTHORIZATION_FAILED), 'transient', 'broker_unavailable'],
    ['broker: the record is too large', createErrorFromCode(MESSAGE_TOO_LARGE), 'permanent', 'payload_too_large'],
    ['unparseable', new SyntaxError('Unexpected end of JSON input'), 'permanent', 'invalid_request'],
    ['a bug in the handler', new TypeError("Cannot read properties of undefined (reading 'x')"), 'permanent', 'internal'],
    ['a thrown non-error', 'boom', 'permanent', 'internal'],
  ];

  it.each(cases)('%s', (_what, error, kind, code) => {
    const failure = classifyFailure(error);
    expect(failure.kind).toBe(kind);
    expect(failure.code).toBe(code);
    expect(failure.detail.length).toBeGreaterThan(0);
  });

  it('classifies every SignoffError code by its status: 5xx (but internal) transient, the rest permanent', () => {
    for (const [code, status] of Object.entries(ERROR_CODES) as [ErrorCode, number][]) {
      const expected = status >= 500 && code !== 'internal' ? 'transient' : 'permanent';
      expect({ code, kind: classifyFailure(new SignoffError(code, 'x')).kind }).toEqual({ code, kind: expected });
    }
    expect(classifyFailure(new SignoffError('auth_unavailable', 'JWKS unreachable')).kind).toBe('transient');
  });

  it('carries per-field errors of a validation failure in the detail, bounded to 4,000 characters', () => {
    const failure = classifyFailure(new SignoffError('invalid_request', 'the job request is invalid', { errors: [{ field: 'topic', message: 'required' }] }));
    expect(failure.detail).toBe('the job request is invalid: [{"field":"topic","message":"required"}]');
    expect(classifyFailure(new PermanentMessageError('invalid_request', 'x'.repeat(10_000))).detail).toHaveLength(4000);
  });
});

describe('brokerFailure: start-up errors of instances racing on a fresh broker', () => {
  it('treats "does not host this topic-partition", leader elections, NOT_CONTROLLER and connection errors as transient', () => {
    expect(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION).message).toBe('This server does not host this topic-partition');
    expect(brokerFailure(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION))).toBe('transient');
    expect(brokerFailure(createErrorFromCode(LEADER_NOT_AVAILABLE))).toBe('transient');
    expect(brokerFailure(createErrorFromCode(NOT_CONTROLLER))).toBe('transient');
    expect(brokerFailure(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe('transient');
    // kafkajs's retrier wraps errors it does not retry as KafkaJSNonRetriableError with the cause
    const wrapped = Object.assign(new KafkaJSNonRetriableError(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION)), { cause: createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION) });
    expect(brokerFailure(wrapped)).toBe('transient');
    expect(brokerFailure(new KafkaJSAggregateError('create', [createErrorFromCode(LEADER_NOT_AVAILABLE)]))).toBe('transient');
  });

  it('treats refusals no retry can fix as fatal, record refusals as the message\'s, and other errors as not the broker\'s', () => {
    expect(brokerFailure(createErrorFromCode(TOPIC_ALREADY_EXISTS))).toBe('fatal'); // ensureTopics counts it as success itself
    expect(brokerFailure(createErrorFromCode(TOPIC_AUTHORIZATION_FAILED))).toBe('fatal');
    expect(brokerFailure(createErrorFromCode(MESSAGE_TOO_LARGE))).toBe('message');
    expect(brokerFailure(new Error('plain'))).toBeNull();
    expect(brokerFailure(socketError('ECONNREFUSED'))).toBeNull();
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with the upper half jittered', () => {
    const backoff = { baseMs: 100, maxMs: 5000 };
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, backoff, () => 1))).toEqual([100, 200, 400, 800, 5000]);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, backoff, () => 0))).toEqual([50, 100, 200, 400, 2500]);
    expect(backoffDelay(1_000_000, backoff, () => 0.5)).toBe(3750);
  });
});
