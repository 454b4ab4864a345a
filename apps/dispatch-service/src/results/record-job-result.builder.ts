import type { CommandMetadata, RecordJobCompleted, RecordJobOutcomeUnknown, RecordJobStarted } from '@signoff/approvals';
import type { JobResultMessageDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** What recording a worker's report needs (the job's state plays no part in building it). */
export interface RecordJobResultInput {
  readonly report: JobResultMessageDto;
  /** The report's verified credential: its tenants are the reporter's scope. */
  readonly principal: Principal;
  readonly metadata: CommandMetadata;
}

/**
 * The report as the decider's command for its status (started, succeeded or failed, unknown),
 * with the credential's tenant scope and the attempt; `worker` defaults to the credential's
 * subject. The decider checks it against the dispatch recorded in the job's stream.
 */
export function recordJobResultCommand(input: RecordJobResultInput): RecordJobStarted | RecordJobCompleted | RecordJobOutcomeUnknown {
  const { report, principal, metadata } = input;
  const worker = report.worker ?? principal.sub;
  const { job_id, idempotency_key } = report;
  const scope = { attempt: report.attempt, reporter_tenants: principal.tenants };
  switch (report.status) {
    case 'started':
      return { type: 'RecordJobStarted', data: { job_id, idempotency_key, worker, ...scope }, metadata };
    case 'succeeded':
    case 'failed':
      return {
        type: 'RecordJobCompleted',
        data: {
          job_id,
          idempotency_key,
          status: report.status,
          ...(report.result !== undefined ? { result: report.result } : {}),
          ...(report.error !== undefined ? { error: report.error } : {}),
          ...scope,
        },
        metadata,
      };
    case 'unknown':
      return {
        type: 'RecordJobOutcomeUnknown',
        data: {
          job_id,
          idempotency_key,
          worker,
          reason: report.error ?? 'the worker lost its lease without a recorded outcome',
          ...(report.fencing_token !== undefined ? { fencing_token: report.fencing_token } : {}),
          ...scope,
        },
        metadata,
      };
    default: {
      const _exhaustive: never = report.status;
      throw new Error(`unknown result status ${String(_exhaustive)}`);
    }
  }
}
