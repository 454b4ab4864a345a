/** Kafka topic names (DESIGN section 6); the prefix is `KAFKA_TOPIC_PREFIX`, default `signoff.`. */
export interface SignoffTopics {
  readonly requested: string;
  readonly requestedDlq: string;
  readonly evaluated: string;
  readonly approved: string;
  readonly dispatch: string;
  /** Dispatch messages a worker refused (unsigned, bad signature, expired, not matching the body). */
  readonly dispatchDlq: string;
  readonly results: string;
  /** Results the dispatcher refused (no worker credential, an attempt that was never dispatched). */
  readonly resultsDlq: string;
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
    dispatchDlq: `${prefix}jobs.dispatch.dlq`,
    results: `${prefix}jobs.results`,
    resultsDlq: `${prefix}jobs.results.dlq`,
    audit: `${prefix}audit`,
  };
}

/** Partitions per topic the services create; key = job_id keeps one job on one partition. */
export const DEFAULT_PARTITIONS = 6;

/** Header names on `signoff.jobs.dispatch`, `signoff.jobs.requested`, `signoff.jobs.results` and the DLQs. */
export const HEADERS = {
  approvalGranted: 'approval_granted',
  idempotencyKey: 'idempotency-key',
  jobHash: 'job-hash',
  /** The dispatch grant: a compact JWS signed by the control plane (see `dispatch-grant.ts`). */
  grant: 'signoff-grant',
  /** `Bearer <JWT>` of the producer: a submitter on `jobs.requested`, a worker on `jobs.results`. */
  authorization: 'authorization',
  errorCode: 'error-code',
  errorDetail: 'error-detail',
} as const;
