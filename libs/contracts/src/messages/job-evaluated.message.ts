import 'reflect-metadata';
import { IsIn, IsString, Matches, ValidateIf } from 'class-validator';
import { fromJobStreamId, PolicyEvaluatedData } from '../events';
import { HEADERS } from '../topics';
import { ID_PATTERN } from '../validation';
import type { MessageRecord, RelayedEvent } from './message-record';

/**
 * `signoff.jobs.evaluated` (DESIGN section 6): every stored PolicyEvaluated, key = job_id.
 * Produced by the policy service's evaluated relay ({@link toJobEvaluatedMessage}); consumed by
 * the dispatch service (`JobReleasedMessageController`), which dispatches `decision: "allow"`
 * through {@link readReleaseNotice} and {@link releasedByEvaluation}.
 */

/** Version of the `signoff.jobs.evaluated` value described here (not on the wire). */
export const JOB_EVALUATED_MESSAGE_VERSION = 1;

/** The value of a `signoff.jobs.evaluated` message: the event data and the job's tenant (from its stream id). */
export type JobEvaluatedMessage = PolicyEvaluatedData & { readonly tenant: string };

/** Validates a `signoff.jobs.evaluated` value as the relay writes it. */
export class JobEvaluatedMessageDto {
  @IsString() @Matches(ID_PATTERN) job_id!: string;
  @IsIn(['allow', 'deny', 'require_human']) decision!: 'allow' | 'deny' | 'require_human';
  @ValidateIf((m: JobEvaluatedMessageDto) => m.rule_id !== null) @IsString() rule_id!: string | null;
  @IsString() reason!: string;
  @IsString() policy_snapshot!: string;
  @IsString() policy_version!: string;
  @IsString() @Matches(ID_PATTERN) tenant!: string;
}

/**
 * The `signoff.jobs.evaluated` record of a stored PolicyEvaluated: key = job_id, value = the
 * event data plus the `tenant` of the job's stream (job ids are scoped by tenant), header
 * `event-id`. Null (nothing published) for an event outside a job stream or of another job.
 */
export function toJobEvaluatedMessage(event: RelayedEvent<PolicyEvaluatedData>): MessageRecord<JobEvaluatedMessage> | null {
  const data = event.data;
  const ref = fromJobStreamId(event.streamId);
  if (ref === null || ref.jobId !== data.job_id) return null;
  const value: JobEvaluatedMessage = { ...data, tenant: ref.tenant };
  return { key: data.job_id, value, headers: { [HEADERS.eventId]: event.id } };
}

/**
 * Whether a `signoff.jobs.evaluated` value releases its job: only an `allow` evaluation does (a
 * value naming no decision is taken as a release notice; the decider refuses to dispatch a job
 * that is not released anyway).
 */
export function releasedByEvaluation(value: unknown): boolean {
  const decision = value !== null && typeof value === 'object' ? (value as { decision?: unknown }).decision : undefined;
  return decision === undefined || decision === 'allow';
}
