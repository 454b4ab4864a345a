import type {
  RecordJobCompleted,
  RecordJobCompletedData,
  RecordJobOutcomeUnknown,
  RecordJobOutcomeUnknownData,
  RecordJobStarted,
  RecordJobStartedData,
  ResolveJobOutcome,
} from './job.commands';
import { accept, eventOf, isRefusal, notFound, refuse, releasedOrRefusal } from './job.decision-kit';
import type {
  DecideRefused,
  DecideResult,
  JobOutcomeMap,
  RecordJobCompletedOutcome,
  RecordJobOutcomeUnknownOutcome,
  RecordJobStartedOutcome,
  ResolveJobOutcomeOutcome,
} from './job.outcomes';
import { apiStateOf, isReleased, type CompletedJob, type JobAggregateState, type ReleasedJobState } from './job.state';

/*
 * The outcome of a dispatched job (DESIGN sections 2 and 12): a worker reports `started`,
 * `succeeded` / `failed`, or `unknown` (its lease was lost after the side effect began); an
 * operator resolves an UNKNOWN job. Fields are checked by `checkCommandData` before these run.
 */

/**
 * Who may report on a job, and on what (DESIGN section 12): a worker whose tenant scope covers the
 * job (`forbidden` otherwise), about an attempt the stream recorded a claim for, under the key the
 * first claim fixed. A report about anything else describes a dispatch that never happened (a
 * forged or misdirected report): `not_dispatched`, and nothing is recorded.
 */
function checkReport(
  job: ReleasedJobState,
  data: RecordJobStartedData | RecordJobCompletedData | RecordJobOutcomeUnknownData,
): DecideRefused | null {
  const scope = data.reporter_tenants;
  if (scope !== undefined && scope !== null && !scope.includes(job.job.request.tenant)) {
    return refuse('forbidden', `this worker may not report on jobs of tenant ${job.job.request.tenant}`);
  }
  const { idempotency_key: key, claimed_attempts } = job.dispatch;
  if (key === null) return refuse('not_dispatched', `job ${data.job_id} was never dispatched`);
  if (data.idempotency_key !== key) {
    return refuse('not_dispatched', `job ${data.job_id} was never dispatched under this idempotency key`, {
      errors: [{ field: 'idempotency_key', message: 'does not match the key fixed by the first claim' }],
    });
  }
  if (!claimed_attempts.includes(data.attempt)) {
    return refuse('not_dispatched', `attempt ${data.attempt} of job ${data.job_id} was never dispatched`, {
      errors: [{ field: 'attempt', message: `dispatched attempts: ${claimed_attempts.join(', ') || 'none'}` }],
    });
  }
  return null;
}

/**
 * The last worker report a released job holds, with the job narrowed to match. A report never
 * moves the state back: one that adds nothing to what is recorded is answered again, no event.
 */
type RecordedReport =
  | { readonly report: 'none' }
  | { readonly report: 'started' }
  | { readonly report: 'unknown' }
  | { readonly report: 'completed'; readonly job: CompletedJob };

function recordedReport(job: ReleasedJobState): RecordedReport {
  switch (job.status) {
    case 'PENDING':
    case 'DISPATCHED':
    case 'DISPATCH_ABANDONED':
      return { report: 'none' };
    case 'RUNNING':
      return { report: 'started' };
    case 'UNKNOWN':
      return { report: 'unknown' };
    case 'SUCCEEDED':
    case 'FAILED':
      return { report: 'completed', job };
    default: {
      const _exhaustive: never = job;
      return { report: 'none' };
    }
  }
}

type ReportCommandType = (RecordJobStarted | RecordJobCompleted | RecordJobOutcomeUnknown)['type'];

/**
 * The idempotent answers of the worker reports: by the report a job already holds, whether a
 * report is recorded (`record`) or answered again with no event. A recorded outcome stands
 * against every report (a conflicting `succeeded` / `failed` is refused before this is read).
 */
const ALREADY_REPORTED = {
  RecordJobStarted: { none: 'record', started: 'already_started', unknown: 'already_started', completed: 'already_completed' },
  RecordJobCompleted: { none: 'record', started: 'record', unknown: 'record', completed: 'already_completed' },
  RecordJobOutcomeUnknown: { none: 'record', started: 'record', unknown: 'already_unknown', completed: 'already_completed' },
} as const satisfies {
  readonly [T in ReportCommandType]: { readonly [R in RecordedReport['report']]: R extends 'completed' ? 'already_completed' : string };
};

/** The answer of a report that adds nothing to what the job holds, or null: record it. */
function alreadyReported<T extends ReportCommandType>(type: T, job: ReleasedJobState, jobId: string): DecideResult<JobOutcomeMap[T]> | null {
  const recorded = recordedReport(job);
  const status = ALREADY_REPORTED[type][recorded.report];
  if (status === 'record') return null;
  const outcome =
    recorded.report === 'completed'
      ? { job_id: jobId, status, result_status: recorded.job.completion.status }
      : { job_id: jobId, status };
  // ALREADY_REPORTED pairs each report type with `already_*` statuses of its own outcome type.
  return accept([], outcome as JobOutcomeMap[T]);
}

/** Checks common to every worker report: the job is released, and the report is about its dispatch. */
function reportedJob(
  state: JobAggregateState,
  data: RecordJobStartedData | RecordJobCompletedData | RecordJobOutcomeUnknownData,
): ReleasedJobState | DecideRefused {
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  return checkReport(job, data) ?? job;
}

/**
 * A worker's `started`. Accepted before the publish is recorded (the dispatcher may be slow or
 * dead) and after abandonment (the worker did get it); later reports never move the state back.
 */
export function recordJobStarted(command: RecordJobStarted, state: JobAggregateState): DecideResult<RecordJobStartedOutcome> {
  const { data, metadata } = command;
  const job = reportedJob(state, data);
  if (isRefusal(job)) return job;
  const already = alreadyReported('RecordJobStarted', job, data.job_id);
  if (already) return already;
  const event = eventOf('JobStarted', { job_id: data.job_id, idempotency_key: data.idempotency_key, worker: data.worker }, metadata);
  return accept([event], { job_id: data.job_id, status: 'started', state: 'RUNNING' });
}

/**
 * A worker's `succeeded` / `failed`: the first result wins; a conflicting second one is refused.
 * Accepted on an UNKNOWN job too: a genuine outcome that arrives late (a slow worker whose
 * replays ran out) is better than the operator's guess, and no worker can report one for a claim
 * another worker marked `unknown` (the claim table fences it out).
 */
export function recordJobCompleted(command: RecordJobCompleted, state: JobAggregateState): DecideResult<RecordJobCompletedOutcome> {
  const { data, metadata } = command;
  const job = reportedJob(state, data);
  if (isRefusal(job)) return job;
  if ((job.status === 'SUCCEEDED' || job.status === 'FAILED') && job.completion.status !== data.status) {
    return refuse('invalid_request', `job ${data.job_id} already ${job.completion.status}; the first result stands`, {
      errors: [{ field: 'status', message: `conflicts with the recorded ${job.completion.status}` }],
    });
  }
  const already = alreadyReported('RecordJobCompleted', job, data.job_id);
  if (already) return already;
  const event = eventOf(
    'JobCompleted',
    {
      job_id: data.job_id,
      idempotency_key: data.idempotency_key,
      status: data.status,
      ...(data.result !== undefined ? { result: data.result } : {}),
      ...(data.error !== undefined ? { error: data.error } : {}),
    },
    metadata,
  );
  return accept([event], {
    job_id: data.job_id,
    status: 'completed',
    result_status: data.status,
    state: data.status === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
  });
}

/**
 * A worker's `unknown`: it found the job's claim with an expired lease after the side effect had
 * begun and no outcome recorded, for a handler that is not idempotent, and marked the claim
 * `unknown` instead of running the effect again. JobOutcomeUnknown; the job is UNKNOWN until an
 * outcome is recorded (a late worker report, or an operator's ResolveJobOutcome). A recorded
 * outcome stands (`already_completed`); a repeat is `already_unknown`. Checked like every other
 * report (`checkReport`): tenant scope, the key of the first claim, a dispatched attempt.
 */
export function recordJobOutcomeUnknown(
  command: RecordJobOutcomeUnknown,
  state: JobAggregateState,
): DecideResult<RecordJobOutcomeUnknownOutcome> {
  const { data, metadata } = command;
  const job = reportedJob(state, data);
  if (isRefusal(job)) return job;
  const already = alreadyReported('RecordJobOutcomeUnknown', job, data.job_id);
  if (already) return already;
  const event = eventOf(
    'JobOutcomeUnknown',
    {
      job_id: data.job_id,
      idempotency_key: data.idempotency_key,
      worker: data.worker,
      reason: data.reason,
      ...(data.fencing_token !== undefined ? { fencing_token: data.fencing_token } : {}),
    },
    metadata,
  );
  return accept([event], { job_id: data.job_id, status: 'unknown', state: 'UNKNOWN' });
}

const notAmbiguous = (jobId: string, state: JobAggregateState, extra: Record<string, unknown> = {}): DecideRefused => {
  const shown = isReleased(state) ? apiStateOf(state) : state.status;
  return refuse('not_ambiguous', `the outcome of job ${jobId} is not unknown (state ${shown}): there is nothing to resolve`, {
    state: shown,
    ...extra,
  });
};

/**
 * An operator resolves an UNKNOWN job: JobOutcomeResolved with who (`resolved_by`), what
 * (`outcome`) and why (`reason`, required); the job becomes SUCCEEDED or FAILED. Only an UNKNOWN
 * job can be resolved (`not_ambiguous` otherwise: its outcome is known, or not due yet); the same
 * resolution again is `already_resolved`, another one `not_ambiguous` (the first one stands).
 */
export function resolveJobOutcome(command: ResolveJobOutcome, state: JobAggregateState): DecideResult<ResolveJobOutcomeOutcome> {
  const { data, metadata } = command;
  if (state.status === 'initial' || state.status === 'submitted') return notFound(data.job_id);
  if (!isReleased(state)) return notAmbiguous(data.job_id, state);
  const recorded = recordedReport(state);
  switch (recorded.report) {
    case 'unknown': {
      const event = eventOf(
        'JobOutcomeResolved',
        { job_id: data.job_id, outcome: data.outcome, reason: data.reason, resolved_by: data.resolved_by },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'resolved',
        outcome: data.outcome,
        resolved_by: data.resolved_by,
        state: data.outcome === 'succeeded' ? 'SUCCEEDED' : 'FAILED',
      });
    }
    case 'completed': {
      const { completion } = recorded.job;
      const resolution = completion.resolution;
      if (resolution === undefined) return notAmbiguous(data.job_id, state);
      if (completion.status !== data.outcome) {
        return notAmbiguous(data.job_id, state, { resolved_outcome: completion.status, resolved_by: resolution.resolved_by });
      }
      return accept([], { job_id: data.job_id, status: 'already_resolved', outcome: completion.status, resolved_by: resolution.resolved_by });
    }
    case 'none':
    case 'started':
      return notAmbiguous(data.job_id, state);
    default: {
      const _exhaustive: never = recorded;
      return notFound(data.job_id);
    }
  }
}
