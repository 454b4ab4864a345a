import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ApprovalRequiredJob, evolve, firedSteps, initialState, JobAggregateState, phaseOf, SubmittedJob } from '@signoff/approvals';
import { fromJobStreamId, JOB_STREAM_PREFIX, JobEvent, JobRef, toJobStreamId } from '@signoff/contracts';
import { ActivePolicy, ActivePolicyView, Clock, HistoryRedaction, LoadedJob } from '@signoff/core';
import { EventStore, RecordedEvent, SubscriptionHandle } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import { SignoffError } from '@signoff/contracts';
import { Principal, topicGlob } from '@signoff/runtime';
import { Observable, Subject } from 'rxjs';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions } from '../shared/approval-options';
import { maySeeApproval } from '../shared/job-access';
import { ApprovalCursor, compareCursor, cursorOf, decodeCursor, encodeCursor } from './approval-cursor';
import { ApprovalChange, ApprovalChangeKind, ApprovalState, ApprovalSummary, summaryOf } from './approval-summary';

/** The job events that open, count, close or describe an approval. */
const PROJECTED_EVENT_TYPES = [
  'JobSubmitted',
  'PolicyEvaluated',
  'ApprovalRequested',
  'ApprovalVoteRecorded',
  'JobAmendmentProposed',
  'ApprovalGranted',
  'ApprovalRejected',
  'ApprovalExpired',
  'ApprovalInvalidated',
  'ApprovalReminderSent',
  'ApprovalEscalated',
] as const satisfies readonly JobEvent['type'][];

/** A change id: a log position, optionally `.n` for the n-th drift noticed after it. */
const CHANGE_ID = /^(0|[1-9][0-9]{0,18})(\.[1-9][0-9]{0,8})?$/;

/** How many changes are kept for resuming clients unless configured. */
export const DEFAULT_CHANGE_HISTORY_LIMIT = 10_000;

/** The approximate size (requests as JSON) the retained changes may take unless configured. */
export const DEFAULT_CHANGE_HISTORY_MAX_BYTES = 64 * 1024 * 1024;

/** What a closed approval's state is called, by the job state that closed it. */
function closedAs(state: JobAggregateState): { kind: ApprovalChangeKind; state: ApprovalState } | null {
  const phase = phaseOf(state);
  switch (phase.phase) {
    case 'approval_closed':
      switch (phase.state.status) {
        case 'REJECTED':
          return { kind: 'rejected', state: 'rejected' };
        case 'EXPIRED':
          return { kind: 'expired', state: 'expired' };
        case 'INVALIDATED':
          return { kind: 'invalidated', state: 'invalidated' };
        default: {
          const _exhaustive: never = phase.state;
          return null;
        }
      }
    case 'released':
      return { kind: 'granted', state: 'approved' };
    case 'absent':
    case 'awaiting_approval':
    case 'denied':
      return null;
    default: {
      const _exhaustive: never = phase;
      return null;
    }
  }
}

/** The change an event makes to an approval that stays open. */
function openKind(type: JobEvent['type'], wasOpen: boolean): ApprovalChangeKind {
  if (!wasOpen) return 'requested';
  if (type === 'ApprovalReminderSent') return 'reminded';
  if (type === 'ApprovalEscalated') return 'escalated';
  return 'vote_recorded';
}

interface OpenApproval {
  readonly ref: JobRef;
  readonly job: ApprovalRequiredJob;
  readonly drifted: boolean;
  /** Revision of the last event folded into `job`. */
  readonly revision: bigint;
  /** `expires_at` in epoch ms (NaN when unreadable: due at once, as the decider treats it). */
  readonly expiresMs: number;
}

export interface PendingQuery {
  readonly principal: Principal;
  /** A topic glob (`finance.*`); absent = every topic. */
  readonly topic?: string;
  /** One tenant; absent = every tenant the caller may see. */
  readonly tenant?: string;
  readonly cursor?: string;
  readonly limit: number;
  /** Only approvals of this rule id. */
  readonly rule?: string;
  /** Only drifted (true) or only undrifted (false) approvals. */
  readonly drifted?: boolean;
  /** Only approvals whose `expires_at` is at or before this instant (epoch ms): "expiring soon". */
  readonly expiresBeforeMs?: number;
}

/** An open approval whose `expires_at` has passed. */
export interface DueApproval {
  readonly ref: JobRef;
  readonly approval_ref: string;
  readonly expires_at: string;
}

/** An open approval whose next escalation step is due (the escalation scheduler's work). */
export interface DueEscalation {
  readonly ref: JobRef;
  readonly approval_ref: string;
  /** 1-based: the approval's next step. */
  readonly step: number;
}

export interface PendingPage {
  readonly items: ApprovalSummary[];
  readonly next_cursor: string | null;
}

/**
 * The pending-approvals read model and the drift detector of this instance.
 *
 * In memory, per instance: at every start it is rebuilt from position 0 of the event log by a
 * non-durable event-store subscription (`subscribeFromStart`): it never resumes from another
 * instance's (or an earlier run's) checkpoint, and nothing is stored for it. Each job is folded with the aggregate's own `evolve`, and only
 * jobs that await reviewers (plus a submission whose policy outcome is in the same append) are
 * kept, so memory is proportional to the open approvals.
 *
 * Jobs are keyed by their stream, i.e. by (tenant, job id): the same job id in two tenants is two
 * approvals. Summaries carry the request redacted for readers (HistoryRedaction).
 *
 * Drift: an approval is `drifted` when the active policy would not honour it (strict: another
 * snapshot; decision mode: the re-evaluated outcome differs). It is recomputed for every open
 * approval as soon as ActivePolicy reports an activation (its poll is 250 ms, so well within 1 s)
 * and for each new approval against the policy active when it is seen.
 */
@Injectable()
export class PendingApprovalsProjection implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('PendingApprovalsProjection');
  /** Submissions whose policy outcome has not been folded yet (same append: transient), by stream id. */
  private readonly submitted = new Map<string, { job: SubmittedJob; revision: bigint }>();
  /** Open approvals by stream id (one per tenant and job id). */
  private readonly pending = new Map<string, OpenApproval>();
  private readonly changes$ = new Subject<ApprovalChange>();
  /** Redacted request sizes by request object (the same object for every change of a job). */
  private readonly requestSizes = new WeakMap<object, number>();
  /** The last changes in feed order, for a client that resumes (`Last-Event-ID`); bounded. */
  private readonly history: { change: ApprovalChange; bytes: number }[] = [];
  private historyBytes = 0;
  /** Feed sequence of `history[0]`; `seqById` maps a retained change id to its sequence. */
  private historyStart = 0;
  private readonly seqById = new Map<string, number>();
  /** Position of the last event folded, and how many drifts were noticed since (drift change ids). */
  private lastPosition = -1n;
  private driftsSincePosition = 0;
  private handle: SubscriptionHandle | null = null;
  private stopListening: (() => void) | null = null;
  /** Labels the subscription (non-durable: nothing is stored under it, see the class comment). */
  readonly subscriptionName = 'approval-service.pending-approvals';

  constructor(
    private readonly store: EventStore,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
    private readonly metrics: SignoffMetrics,
    private readonly clock: Clock,
    private readonly redaction: HistoryRedaction,
    @Inject(APPROVAL_MODULE_OPTIONS) options: ApprovalModuleOptions,
  ) {
    this.historyLimit = options.changeHistoryLimit ?? DEFAULT_CHANGE_HISTORY_LIMIT;
    this.historyMaxBytes = options.changeHistoryMaxBytes ?? DEFAULT_CHANGE_HISTORY_MAX_BYTES;
  }

  private readonly historyLimit: number;
  private readonly historyMaxBytes: number;

  onApplicationBootstrap(): void {
    this.stopListening = this.policy.onActivated((active) => this.recomputeDrift(active));
    this.metrics.approvalsPending.set(0);
    this.handle = this.store.subscribeFromStart<JobEvent>(this.subscriptionName, {
      filter: { streamPrefix: JOB_STREAM_PREFIX, eventTypes: PROJECTED_EVENT_TYPES },
      batchSize: 1000,
      pollIntervalMs: 50,
      handler: (event) => this.apply(event),
      onError: (error) => this.logger.warn(`reading the event log failed, retrying: ${(error as Error).message}`),
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopListening?.();
    this.stopListening = null;
    await this.handle?.stop();
    this.handle = null;
    this.changes$.complete();
  }

  /**
   * Open approvals the caller may see, oldest first, a page at a time. The `tenant` filter and what
   * the caller may see are checked first (tenant before topic globs, in `maySeeApproval`), the
   * `topic` filter last;
   * every glob matches in time linear in the topic (`topicGlob`), whatever its stars.
   */
  list(query: PendingQuery): PendingPage {
    const after: ApprovalCursor | null = query.cursor ? decodeCursor(query.cursor) : null;
    const glob = query.topic ? topicGlob(query.topic) : null;
    const visible: ApprovalSummary[] = [];
    for (const { job, drifted, expiresMs } of this.pending.values()) {
      const { topic, tenant } = job.job.request;
      if (query.tenant !== undefined && tenant !== query.tenant) continue;
      if (!maySeeApproval(query.principal, job.job.request)) continue;
      if (after && compareCursor(cursorOf(job), after) <= 0) continue;
      if (glob !== null && !glob.test(topic)) continue;
      if (query.rule !== undefined && job.approval.rule_id !== query.rule) continue;
      if (query.drifted !== undefined && drifted !== query.drifted) continue;
      // An unreadable expiry (NaN) is due at once, so it is "expiring soon" too.
      if (query.expiresBeforeMs !== undefined && expiresMs > query.expiresBeforeMs) continue;
      visible.push(this.summary(job, drifted));
    }
    visible.sort((a, b) => compareCursor(cursorOf(a), cursorOf(b)));
    const items = visible.slice(0, query.limit);
    const last = items[items.length - 1];
    const next_cursor = visible.length > query.limit && last ? encodeCursor(cursorOf(last)) : null;
    return { items, next_cursor };
  }

  /** The open approval of a job as this instance knows it (null when none is open). */
  get(ref: JobRef): ApprovalSummary | null {
    const entry = this.pending.get(toJobStreamId(ref));
    return entry ? this.summary(entry.job, entry.drifted) : null;
  }

  /**
   * The folded state of a job with an open approval and the revision it was folded at, for a
   * command to decide on without reading the stream first. Safe because the command appends
   * expecting exactly that revision: if anything was written since (or this instance lags), the
   * append fails and the command handler reloads from the store. Only events the projection folds
   * can precede a grant, so the state is the aggregate's fold of the stream up to that revision.
   */
  cached(ref: JobRef): LoadedJob | null {
    const entry = this.pending.get(toJobStreamId(ref));
    // `events` is not needed to decide (JobCommandHandler.execute uses the state and the revision).
    return entry ? { state: entry.job, revision: entry.revision, events: [] } : null;
  }

  /** Open approvals whose `expires_at` is at or before `now` (the expiry scheduler's work). */
  due(now: Date): DueApproval[] {
    const nowMs = now.getTime();
    const out: DueApproval[] = [];
    for (const { ref, job, expiresMs } of this.pending.values()) {
      // An unreadable expiry is due: the decider fails it closed as expired too.
      if (!(expiresMs > nowMs)) out.push({ ref, approval_ref: job.approval.approval_ref, expires_at: job.approval.expires_at });
    }
    return out;
  }

  /**
   * Open approvals, not yet expired, whose next escalation step is due at `now` (`requested_at +
   * after`). One step per approval: the next is returned once this one's event has been folded, so
   * a step missed during downtime fires late, and the steps after it follow in order.
   */
  dueEscalations(now: Date): DueEscalation[] {
    const nowMs = now.getTime();
    const out: DueEscalation[] = [];
    for (const { ref, job, expiresMs } of this.pending.values()) {
      const steps = job.approval.requirement.escalate;
      if (!steps || !(expiresMs > nowMs)) continue;
      const next = firedSteps(job.approval) + 1;
      const step = steps[next - 1];
      const requestedMs = Date.parse(job.approval.requested_at);
      if (step && Number.isFinite(requestedMs) && requestedMs + step.after_ms <= nowMs) out.push({ ref, approval_ref: job.approval.approval_ref, step: next });
    }
    return out;
  }

  /** Every change from now on (WatchApprovals); completes when the instance stops. */
  changes(): Observable<ApprovalChange> {
    return this.changes$.asObservable();
  }

  /**
   * Every change after the one whose id is `afterId` (from the retained history, then live), or
   * from now on without it; completes when the instance stops. Replay and the live feed are joined
   * in one synchronous step on subscription (changes are emitted synchronously by `apply`), so
   * nothing is missed or sent twice. Throws `invalid_last_event_id` at once (not on subscription)
   * when `afterId` is not a change id this instance still retains: malformed, older than the last
   * `changeHistoryLimit` changes (or `changeHistoryMaxBytes` of them), or not folded here yet.
   */
  changesAfter(afterId?: string): Observable<ApprovalChange> {
    if (afterId === undefined) return this.changes();
    const seq = this.seqById.get(afterId);
    if (seq === undefined) {
      throw new SignoffError(
        'invalid_last_event_id',
        CHANGE_ID.test(afterId)
          ? 'Last-Event-ID is not among the changes this instance retains: reload the list and reconnect without it'
          : 'Last-Event-ID is not a change id of this stream',
      );
    }
    return new Observable<ApprovalChange>((subscriber) => {
      const live = this.changes$.subscribe(subscriber);
      // Positions of the history from now: the changes after `seq`, as they were at the call.
      const from = Math.max(seq + 1 - this.historyStart, 0);
      const replay = this.history.slice(from);
      // Live changes cannot interleave: apply() runs on another tick than this synchronous loop.
      for (const { change } of replay) subscriber.next(change);
      return live;
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Folds one event; an event at or below the revision already folded for its job is skipped, and
   * so is one that is not its stream's job (another job id, a stream whose request names another
   * tenant than its id: written before job ids were scoped by tenant, no job of that reference).
   */
  apply(event: RecordedEvent<JobEvent>): void {
    const ref = fromJobStreamId(event.streamId);
    if (ref === null || ref.jobId !== event.data.job_id) return;
    const key = event.streamId;
    const open = this.pending.get(key);
    const partial = this.submitted.get(key);
    const known = open ?? partial;
    if (known && event.revision <= known.revision) return;
    this.lastPosition = event.position;
    this.driftsSincePosition = 0;
    const before: JobAggregateState = known?.job ?? initialState();
    const after = evolve(before, event);
    if (after === before) return;
    if (after.status !== 'initial' && after.job.request.tenant !== ref.tenant) return;
    this.submitted.delete(key);
    if (after.status === 'submitted') {
      this.submitted.set(key, { job: after, revision: event.revision });
    } else if (after.status === 'APPROVAL_REQUIRED') {
      const drifted = open ? open.drifted : this.driftOf(after);
      this.pending.set(key, { ref, job: after, drifted, revision: event.revision, expiresMs: Date.parse(after.approval.expires_at) });
      // An amendment is always appended with the vote for it: that vote is the change to tell.
      if (event.type !== 'JobAmendmentProposed') {
        this.emit(String(event.position), openKind(event.type, open !== undefined), after, this.summary(after, drifted), event.metadata.at);
      }
    } else if (open) {
      this.pending.delete(key);
      const closed = closedAs(after);
      if (closed) this.emit(String(event.position), closed.kind, open.job, this.summary(open.job, open.drifted, closed.state), event.metadata.at);
    }
    this.metrics.approvalsPending.set(this.pending.size);
  }

  private driftOf(job: ApprovalRequiredJob, active?: ActivePolicyView): boolean {
    let policy = active;
    if (!policy) {
      try {
        policy = this.policy.get();
      } catch {
        return false; // no policy known yet: recomputed when the first activation is reported
      }
    }
    return !this.integrity.honours(policy, job.job.request, job.approval);
  }

  private recomputeDrift(active: ActivePolicyView): void {
    const at = this.clock.now().toISOString();
    for (const [key, entry] of this.pending) {
      const drifted = this.driftOf(entry.job, active);
      if (drifted === entry.drifted) continue;
      this.pending.set(key, { ...entry, drifted });
      this.driftsSincePosition += 1;
      this.emit(`${this.lastPosition}.${this.driftsSincePosition}`, 'drifted', entry.job, this.summary(entry.job, drifted), at);
    }
  }

  /** What readers are shown of an approval: its summary with the request redacted. */
  private summary(job: ApprovalRequiredJob, drifted: boolean, state?: ApprovalState): ApprovalSummary {
    return { ...summaryOf(job, drifted, state), request: this.redaction.request(job) };
  }

  /** The size of a job's redacted request, measured once per job (a job emits several changes; requests may be ~1 MB). */
  private requestBytes(job: ApprovalRequiredJob, approval: ApprovalSummary): number {
    let bytes = this.requestSizes.get(job.job.request);
    if (bytes === undefined) {
      bytes = JSON.stringify(approval.request).length;
      this.requestSizes.set(job.job.request, bytes);
    }
    return bytes;
  }

  private emit(id: string, kind: ApprovalChangeKind, job: ApprovalRequiredJob, approval: ApprovalSummary, at: string): void {
    const { tenant, topic, submitted_by } = job.job.request;
    const change: ApprovalChange = { id, kind, approval, at, readable: { tenant, topic, submitted_by } };
    // Bounded by count and by size (requests may be large): the oldest changes go first.
    const bytes = this.requestBytes(job, approval) + 1024;
    this.seqById.set(id, this.historyStart + this.history.length);
    this.history.push({ change, bytes });
    this.historyBytes += bytes;
    while (this.history.length > this.historyLimit || (this.historyBytes > this.historyMaxBytes && this.history.length > 1)) {
      const oldest = this.history.shift()!;
      this.seqById.delete(oldest.change.id);
      this.historyBytes -= oldest.bytes;
      this.historyStart += 1;
    }
    if (this.changes$.observed) this.changes$.next(change);
  }
}

