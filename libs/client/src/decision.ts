import type { JobView } from '@signoff/approvals';
import type { JobState } from '@signoff/contracts';

/** How the job was decided. */
export type DecisionOutcome = 'allowed' | 'approved' | 'denied' | 'rejected' | 'expired' | 'invalidated';

/**
 * What `waitForDecision` waits for: `decision` (default) returns once the policy or the
 * reviewers decided; `dispatch` once an allowed or approved job was also released by the
 * dispatcher (the log confirmed the grant: a grant under a policy that was already replaced is
 * voided there, as `invalidated`); `completion` once a worker reported an outcome (`SUCCEEDED`,
 * `FAILED`, or `UNKNOWN` for an operator to resolve). A refusal ends every wait.
 */
export type WaitUntil = 'decision' | 'dispatch' | 'completion';

/** The answer of `waitForDecision`. */
export interface Decision {
  readonly job_id: string;
  readonly outcome: DecisionOutcome;
  /** `allowed` or `approved`: the job may run (a worker runs it once dispatched). */
  readonly approved: boolean;
  readonly state: JobState;
  /** The job as `GET /jobs/:id` answered when the wait ended. */
  readonly job: JobView;
}

const REFUSED: Partial<Record<JobState, DecisionOutcome>> = {
  DENIED: 'denied',
  REJECTED: 'rejected',
  EXPIRED: 'expired',
  INVALIDATED: 'invalidated',
};
const COMPLETED: ReadonlySet<JobState> = new Set(['SUCCEEDED', 'FAILED', 'UNKNOWN']);

/** The decision `job` stands for, or null while the wait for `until` goes on. Pure. */
export function decisionOf(job: JobView, until: WaitUntil = 'decision'): Decision | null {
  const refused = REFUSED[job.state];
  if (refused) return { job_id: job.job_id, outcome: refused, approved: false, state: job.state, job };
  if (job.state === 'APPROVAL_REQUIRED') return null;
  if (until === 'dispatch' && job.state === 'PENDING') return null;
  if (until === 'completion' && !COMPLETED.has(job.state)) return null;
  const outcome: DecisionOutcome = job.approval ? 'approved' : 'allowed';
  return { job_id: job.job_id, outcome, approved: true, state: job.state, job };
}
