/**
 * Kafka topic names (DESIGN section 6); the prefix is `KAFKA_TOPIC_PREFIX`, default `signoff.`.
 * Every consumed topic has a dead-letter topic `<topic>.dlq` (DESIGN section 12): messages whose
 * handling failed for good (see @signoff/messaging's classifyFailure) are moved there.
 */
export interface SignoffTopics {
  readonly requested: string;
  readonly requestedDlq: string;
  readonly evaluated: string;
  readonly evaluatedDlq: string;
  readonly approved: string;
  readonly approvedDlq: string;
  readonly dispatch: string;
  /** Dispatch messages a worker refused (unsigned, bad signature, expired, not matching the body). */
  readonly dispatchDlq: string;
  readonly results: string;
  /** Results the dispatcher refused (no worker credential, an attempt that was never dispatched). */
  readonly resultsDlq: string;
  readonly audit: string;
}

export const DEFAULT_TOPIC_PREFIX = 'signoff.';

/** The dead-letter topic of a consumed topic: `<topic>.dlq` (e.g. `signoff.jobs.requested.dlq`). */
export function dlqOf(topic: string): string {
  return `${topic}.dlq`;
}

/** Builds every topic name from one prefix. */
export function signoffTopics(prefix: string = DEFAULT_TOPIC_PREFIX): SignoffTopics {
  const requested = `${prefix}jobs.requested`;
  const evaluated = `${prefix}jobs.evaluated`;
  const approved = `${prefix}jobs.approved`;
  const dispatch = `${prefix}jobs.dispatch`;
  const results = `${prefix}jobs.results`;
  return {
    requested,
    requestedDlq: dlqOf(requested),
    evaluated,
    evaluatedDlq: dlqOf(evaluated),
    approved,
    approvedDlq: dlqOf(approved),
    dispatch,
    dispatchDlq: dlqOf(dispatch),
    results,
    resultsDlq: dlqOf(results),
    audit: `${prefix}audit`,
  };
}

/** Partitions per topic the services create; key = job_id keeps one job on one partition. */
export const DEFAULT_PARTITIONS = 6;

/** Header names on the job topics and the dead-letter topics. */
export const HEADERS = {
  approvalGranted: 'approval_granted',
  idempotencyKey: 'idempotency-key',
  jobHash: 'job-hash',
  /** The dispatch grant: a compact JWS signed by the control plane (see `dispatch-grant.ts`). */
  grant: 'signoff-grant',
  /** `Bearer <JWT>` of the producer: a submitter on `jobs.requested`, a worker on `jobs.results`. Never copied into a dead letter. */
  authorization: 'authorization',
  /** On `signoff.jobs.evaluated` / `signoff.jobs.approved`: the id of the stored event the message announces. */
  eventId: 'event-id',
  /** DLQ: why the message was dead-lettered (an ErrorCode such as `invalid_request`). */
  errorCode: 'error-code',
  /** DLQ: a human-readable reason (at most 4,000 characters). */
  errorDetail: 'error-detail',
  /** DLQ: where the message was consumed from. */
  originalTopic: 'original-topic',
  originalPartition: 'original-partition',
  originalOffset: 'original-offset',
} as const;
