import type { CommandMetadata, GrantLogFact, ReplayClaim, ReplayDispatch } from '@signoff/approvals';
import type { SnapshotMode } from '@signoff/runtime';
import type { ReplayCandidate } from './dispatch-status.projection';

/** What a replay decides on: the stuck attempt, the limits, the log's fact about the grant. */
export interface ReplayDispatchInput {
  readonly candidate: Pick<ReplayCandidate, 'job_id' | 'attempt' | 'reason'>;
  /** DISPATCH_MAX_ATTEMPTS. */
  readonly maxAttempts: number;
  /** WORKER_RUN_TIMEOUT_MS. */
  readonly runTimeoutMs: number;
  /** What the global log says of the job's grant, when the job was approved and the projection knows it. */
  readonly grant?: GrantLogFact;
  readonly snapshotMode: SnapshotMode;
  /** Claim the opened attempt in the same append (the replayer publishes it itself). */
  readonly claim?: ReplayClaim;
  readonly metadata: CommandMetadata;
}

/**
 * The ReplayDispatch command for a stuck attempt: open the next one (the decider abandons, or
 * marks UNKNOWN a started job, past `maxAttempts`), with the grant's log fact when there is one so
 * a grant the log voids is invalidated rather than replayed; with `claim`, the opened attempt is
 * claimed in the same decision (one append for DispatchReplayed and DispatchClaimed).
 */
export function replayDispatchCommand(input: ReplayDispatchInput): ReplayDispatch {
  const { candidate, grant } = input;
  return {
    type: 'ReplayDispatch',
    data: {
      job_id: candidate.job_id,
      attempt: candidate.attempt + 1,
      reason: candidate.reason,
      max_attempts: input.maxAttempts,
      run_timeout_ms: input.runTimeoutMs,
      ...(grant ? { grant_fact: grant, snapshot_mode: input.snapshotMode } : {}),
      ...(input.claim ? { claim: input.claim } : {}),
    },
    metadata: input.metadata,
  };
}
