/** Kafka topic names (DESIGN section 6); the prefix is `KAFKA_TOPIC_PREFIX`, default `signoff.`. */
export interface SignoffTopics {
  readonly requested: string;
  readonly requestedDlq: string;
  readonly evaluated: string;
  readonly approved: string;
  readonly dispatch: string;
  readonly results: string;
  readonly audit: string;
}

export const DEFAULT_TOPIC_PREFIX = 'signoff.';

/** Builds every topic name from one prefix. */
export function signoffTopics(prefix: string = DEFAULT_TOPIC_PREFIX): SignoffTopics {
  return {
    requested: `${prefix}jobs.requested`,
    requestedDlq: `${prefix}jobs.requested.dlq`,
    evaluated: `${prefix}jobs.evaluated`,
    approved: `${prefix}jobs.approved`,
    dispatch: `${prefix}jobs.dispatch`,
    results: `${prefix}jobs.results`,
    audit: `${prefix}audit`,
  };
}

/** Partitions per topic the services create; key = job_id keeps one job on one partition. */
export const DEFAULT_PARTITIONS = 6;

/** Header names on `signoff.jobs.dispatch` and the DLQ. */
export const HEADERS = {
  approvalGranted: 'approval_granted',
  idempotencyKey: 'idempotency-key',
  jobHash: 'job-hash',
  errorCode: 'error-code',
  errorDetail: 'error-detail',
} as const;
