import type { DispatchReplayedData, JobEvent, JobRef } from '@signoff/contracts';
import { fromJobStreamId, toJobStreamId } from '@signoff/contracts';

/** Where a released job's current attempt stands. */
export type DispatchStage = 'pending' | 'claimed' | 'dispatched';

const STAGE_RANK: Record<DispatchStage, number> = { pending: 0, claimed: 1, dispatched: 2 };

/** One released job that no worker has acknowledged yet. */
export interface DispatchStatus {
  readonly job_id: string;
  readonly tenant: string;
  readonly attempt: number;
  readonly stage: DispatchStage;
  /** When the current stage began (ms since the epoch, from the event's `at`). */
  readonly since: number;
  readonly claimed_by: string | null;
  readonly idempotency_key: string | null;
}

/** The event types the projection reads (its subscription filter). */
export const DISPATCH_STATUS_EVENT_TYPES = [
  'PolicyEvaluated',
  'ApprovalGranted',
  'DispatchClaimed',
  'JobDispatched',
  'DispatchReplayed',
  'DispatchAbandoned',
  'JobStarted',
  'JobCompleted',
] as const satisfies readonly JobEvent['type'][];

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
  /** `replay`: open attempt + 1 and publish it; `abandon`: max attempts reached, record DispatchAbandoned. */
  readonly action: 'replay' | 'abandon';
}

export interface StuckJobCriteria {
  /** DISPATCH_GRACE_MS: a pending or claimed attempt older than this is stuck. */
  readonly graceMs: number;
  /** WORKER_ACK_TIMEOUT_MS: a published attempt without a worker report older than this is stuck. */
  readonly workerAckTimeoutMs: number;
  readonly maxAttempts: number;
  readonly now: number;
}

const REASON: Record<DispatchStage, DispatchReplayedData['reason']> = {
  pending: 'not_published',
  claimed: 'not_recorded',
  dispatched: 'not_acknowledged',
};

/**
 * The dispatch status of every released job no worker has acknowledged: a small in-memory index
 * built from the event log (from position 0 at every start, so it needs no storage of its own),
 * which the replay consumer scans for stuck jobs. It is only an index: each replay is decided
 * again on the job's stream, so a lagging projection can cause no wrong replay.
 *
 * Events are applied in log order; an event that would move a job's (attempt, stage) backwards is
 * ignored, so the replay consumer may also apply the events it appended itself before the log
 * reader delivers them. A job leaves the index once a worker reported on it or it was abandoned.
 * Jobs are keyed by their stream, i.e. by (tenant, job id): the same id in two tenants is two jobs.
 */
export class DispatchStatusProjection {
  /** By stream id. */
  private readonly jobs = new Map<string, DispatchStatus>();

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
  }

  /** Applies one event of a job stream (other streams, other jobs' events and other types are ignored). */
  apply(event: JobEvent & { readonly streamId: string }): void {
    const ref = fromJobStreamId(event.streamId);
    if (ref === null || (event.data as { job_id?: unknown }).job_id !== ref.jobId) return;
    const key = event.streamId;
    const at = Date.parse(event.metadata?.at ?? '');
    const since = Number.isFinite(at) ? at : 0;
    const current = this.jobs.get(key);
    switch (event.type) {
      case 'PolicyEvaluated':
        if (event.data.decision === 'allow' && !current) this.set(ref, 1, 'pending', since, null, null);
        return;
      case 'ApprovalGranted':
        if (!current) this.set(ref, 1, 'pending', since, null, null);
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
      case 'DispatchAbandoned':
      case 'JobStarted':
      case 'JobCompleted':
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
      const limit = status.stage === 'dispatched' ? criteria.workerAckTimeoutMs : criteria.graceMs;
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
        action: status.attempt + 1 > criteria.maxAttempts ? 'abandon' : 'replay',
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
  ): void {
    if (attempt < current.attempt) return;
    if (attempt === current.attempt && STAGE_RANK[stage] <= STAGE_RANK[current.stage]) return;
    this.set({ tenant: current.tenant, jobId: current.job_id }, attempt, stage, since, claimedBy, key);
  }

  private set(ref: JobRef, attempt: number, stage: DispatchStage, since: number, claimedBy: string | null, key: string | null): void {
    this.jobs.set(toJobStreamId(ref), { job_id: ref.jobId, tenant: ref.tenant, attempt, stage, since, claimed_by: claimedBy, idempotency_key: key });
  }
}
