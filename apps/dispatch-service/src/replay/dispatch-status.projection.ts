import type { GrantLogFact } from '@signoff/approvals';
import type { DispatchReplayedData, JobEvent, JobRef, SignoffEvent } from '@signoff/contracts';
import { fromJobStreamId, POLICY_STREAM, toJobStreamId } from '@signoff/contracts';

/** Where a released job's current attempt stands (`running`: a worker reported `started`, no outcome yet). */
export type DispatchStage = 'pending' | 'claimed' | 'dispatched' | 'running';

const STAGE_RANK: Record<DispatchStage, number> = { pending: 0, claimed: 1, dispatched: 2, running: 3 };

/** One released job without a recorded outcome. */
export interface DispatchStatus {
  readonly job_id: string;
  readonly tenant: string;
  readonly attempt: number;
  readonly stage: DispatchStage;
  /** When the current stage began (ms since the epoch, from the event's `at`). */
  readonly since: number;
  readonly claimed_by: string | null;
  readonly idempotency_key: string | null;
  /** A worker reported `started` in some attempt: its side effect may have begun. */
  readonly started: boolean;
  /**
   * Approved jobs: the policy that was active at the ApprovalGranted's place in the global log
   * (the last PolicyActivated the projection read before it), the fact the decider judges the
   * grant by (DESIGN section 12). Null for allowed jobs.
   */
  readonly grant: GrantLogFact | null;
}

/** The job event types the projection reads. */
export const DISPATCH_STATUS_EVENT_TYPES = [
  'PolicyEvaluated',
  'ApprovalGranted',
  'ApprovalInvalidated',
  'DispatchClaimed',
  'JobDispatched',
  'DispatchReplayed',
  'DispatchAbandoned',
  'JobStarted',
  'JobCompleted',
  'JobOutcomeUnknown',
] as const satisfies readonly JobEvent['type'][];

/** Everything the projection reads from the log (its filter): the job events and the policy activations. */
export const DISPATCH_LOG_EVENT_TYPES = [...DISPATCH_STATUS_EVENT_TYPES, 'PolicyActivated'] as const;

/** A stuck job and what the replay consumer would do about it. */
export interface ReplayCandidate {
  readonly job_id: string;
  readonly tenant: string;
  readonly attempt: number;
  readonly stage: DispatchStage;
  readonly reason: DispatchReplayedData['reason'];
  readonly claimed_by: string | null;
  readonly idempotency_key: string | null;
  readonly since: string;
  /** How long past its deadline (grace or worker acknowledgement timeout) the job is. */
  readonly overdue_ms: number;
  /**
   * `replay`: open attempt + 1 and publish it; `abandon`: max attempts reached, record
   * DispatchAbandoned; `mark_unknown`: max attempts reached for a job a worker had started (its
   * effect may have happened), record JobOutcomeUnknown (the job becomes UNKNOWN).
   */
  readonly action: 'replay' | 'abandon' | 'mark_unknown';
}

export interface StuckJobCriteria {
  /** DISPATCH_GRACE_MS: a pending or claimed attempt older than this is stuck. */
  readonly graceMs: number;
  /** WORKER_ACK_TIMEOUT_MS: a published attempt without a worker report older than this is stuck. */
  readonly workerAckTimeoutMs: number;
  /** WORKER_RUN_TIMEOUT_MS: a started job without an outcome older than this is stuck. */
  readonly workerRunTimeoutMs: number;
  readonly maxAttempts: number;
  readonly now: number;
}

const REASON: Record<DispatchStage, DispatchReplayedData['reason']> = {
  pending: 'not_published',
  claimed: 'not_recorded',
  dispatched: 'not_acknowledged',
  running: 'not_completed',
};

/**
 * The dispatch status of every released job no worker has acknowledged: a small in-memory index
 * built from the event log (from position 0 at every start, so it needs no storage of its own),
 * which the replay consumer scans for stuck jobs. It is only an index: each replay is decided
 * again on the job's stream, so a lagging projection can cause no wrong replay.
 *
 * Events are applied in log order; an event that would move a job's (attempt, stage) backwards is
 * ignored, so the replay consumer may also apply the events it appended itself before the log
 * reader delivers them. A job leaves the index only with a recorded outcome (JobCompleted,
 * JobOutcomeUnknown), its abandonment, or the invalidation of its approval: a `started` report (a
 * lost or stalled one, or one whose worker died) moves it to `running`, which is replayed after
 * WORKER_RUN_TIMEOUT_MS like any other stuck stage. Jobs are keyed by their stream, i.e. by
 * (tenant, job id): the same id in two tenants is two jobs.
 *
 * It also folds the policy activations (PolicyActivated of the `policy` stream), in the same
 * order: the global log's one order, of which the reader only ever sees a prefix that can no
 * longer change (see libs/event-store, "Global order"). So when an ApprovalGranted is applied,
 * the last activation applied before it is the policy active at the grant's position, and no
 * activation read later can precede it.
 */
export class DispatchStatusProjection {
  /** By stream id. */
  private readonly jobs = new Map<string, DispatchStatus>();
  /** Snapshot of the last PolicyActivated applied (null before the first). */
  private activePolicy: string | null = null;

  get size(): number {
    return this.jobs.size;
  }

  get(ref: JobRef): DispatchStatus | undefined {
    return this.jobs.get(toJobStreamId(ref));
  }

  all(): IterableIterator<DispatchStatus> {
    return this.jobs.values();
  }

  clear(): void {
    this.jobs.clear();
    this.activePolicy = null;
  }

  /** The snapshot of the last policy activation read (null before the first). */
  get activePolicySnapshot(): string | null {
    return this.activePolicy;
  }

  /**
   * Applies one event: a job event of a job stream or a PolicyActivated of the policy stream, in
   * log order (other streams, other jobs' events and other types are ignored).
   */
  apply(event: SignoffEvent & { readonly streamId: string }): void {
    if (event.type === 'PolicyActivated') {
      if (event.streamId === POLICY_STREAM && typeof event.data.snapshot === 'string') this.activePolicy = event.data.snapshot;
      return;
    }
    const ref = fromJobStreamId(event.streamId);
    if (ref === null || (event.data as { job_id?: unknown }).job_id !== ref.jobId) return;
    const key = event.streamId;
    const at = Date.parse(event.metadata?.at ?? '');
    const since = Number.isFinite(at) ? at : 0;
    const current = this.jobs.get(key);
    switch (event.type) {
      case 'PolicyEvaluated':
        if (event.data.decision === 'allow' && !current) this.set(ref, 1, 'pending', since, null, null, false);
        return;
      case 'ApprovalGranted':
        if (!current) {
          this.set(ref, 1, 'pending', since, null, null, false, { approval_id: event.data.approval_id, active_policy_snapshot: this.activePolicy });
        }
        return;
      case 'DispatchClaimed':
        if (current) this.advance(current, event.data.attempt, 'claimed', since, event.data.claimed_by, event.data.idempotency_key);
        return;
      case 'JobDispatched':
        if (current) this.advance(current, event.data.attempt, 'dispatched', since, current.claimed_by, event.data.idempotency_key);
        return;
      case 'DispatchReplayed':
        if (current) this.advance(current, event.data.attempt, 'pending', since, null, current.idempotency_key);
        return;
      case 'JobStarted':
        // Not an outcome: the job stays replayable (a worker that dies now leaves it RUNNING).
        if (current) this.advance(current, current.attempt, 'running', since, current.claimed_by, event.data.idempotency_key, true);
        return;
      case 'ApprovalInvalidated':
      case 'DispatchAbandoned':
      case 'JobCompleted':
      case 'JobOutcomeUnknown':
        this.jobs.delete(key);
        return;
      default:
        return;
    }
  }

  /** Restarts the clock of a job's current stage (a failed replay is looked at again after the grace). */
  touch(ref: JobRef, since: number): void {
    const key = toJobStreamId(ref);
    const current = this.jobs.get(key);
    if (current) this.jobs.set(key, { ...current, since });
  }

  /** The stuck jobs, the longest overdue first. */
  stuck(criteria: StuckJobCriteria): ReplayCandidate[] {
    const out: ReplayCandidate[] = [];
    for (const status of this.jobs.values()) {
      const limit =
        status.stage === 'running' ? criteria.workerRunTimeoutMs : status.stage === 'dispatched' ? criteria.workerAckTimeoutMs : criteria.graceMs;
      const overdue = criteria.now - (status.since + limit);
      if (overdue < 0) continue;
      out.push({
        job_id: status.job_id,
        tenant: status.tenant,
        attempt: status.attempt,
        stage: status.stage,
        reason: REASON[status.stage],
        claimed_by: status.claimed_by,
        idempotency_key: status.idempotency_key,
        since: new Date(status.since).toISOString(),
        overdue_ms: overdue,
        action: status.attempt + 1 <= criteria.maxAttempts ? 'replay' : status.started ? 'mark_unknown' : 'abandon',
      });
    }
    return out.sort((a, b) => b.overdue_ms - a.overdue_ms);
  }

  private advance(
    current: DispatchStatus,
    attempt: number,
    stage: DispatchStage,
    since: number,
    claimedBy: string | null,
    key: string | null,
    started = false,
  ): void {
    if (attempt < current.attempt) return;
    if (attempt === current.attempt && STAGE_RANK[stage] <= STAGE_RANK[current.stage]) return;
    this.set({ tenant: current.tenant, jobId: current.job_id }, attempt, stage, since, claimedBy, key, current.started || started, current.grant);
  }

  private set(
    ref: JobRef,
    attempt: number,
    stage: DispatchStage,
    since: number,
    claimedBy: string | null,
    key: string | null,
    started: boolean,
    grant: GrantLogFact | null = null,
  ): void {
    this.jobs.set(toJobStreamId(ref), {
      job_id: ref.jobId,
      tenant: ref.tenant,
      attempt,
      stage,
      since,
      claimed_by: claimedBy,
      idempotency_key: key,
      started,
      grant,
    });
  }
}
