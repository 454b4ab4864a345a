/*
 * Test kit of the job decider (not exported from the barrel: it imports vitest). Builders for
 * commands and hand-written events (so `given` histories do not depend on the decider under test)
 * and a given / when / then helper that also checks what holds for every decision: decide is
 * deterministic, mutates nothing, and stamps every event with the command's metadata.
 */
import { expect } from 'vitest';
import type {
  ApprovalRequirement,
  ErrorCode,
  EventMetadata,
  JobEvent,
  JobRequest,
  SignoffEvent,
  SignoffEventMap,
} from '@signoff/contracts';
import type {
  ApproveJob,
  ApproveJobData,
  ClaimDispatch,
  ClaimDispatchData,
  CommandMetadata,
  ExpireApproval,
  GrantLogFact,
  InvalidateApproval,
  InvalidateApprovalData,
  JobCommand,
  PolicyOutcome,
  RecordDispatch,
  RecordDispatchData,
  RecordJobCompleted,
  RecordJobCompletedData,
  RecordJobOutcomeUnknown,
  RecordJobOutcomeUnknownData,
  RecordJobStarted,
  RecordJobStartedData,
  RejectJob,
  RejectJobData,
  ReplayDispatch,
  ReplayDispatchData,
  ResolveJobOutcome,
  ResolveJobOutcomeData,
  SubmitJob,
} from '../job.commands';
import { decide } from '../job.decider';
import type { DecideResult, JobOutcomeMap } from '../job.outcomes';
import { foldJob, type JobAggregateState, type JobStatus } from '../job.state';

// ---------------------------------------------------------------------------------------------
// constants

export const JOB_ID = 'job-42';
export const SUBMITTER = 'agent-7';
export const RITA = 'rita';
export const SAM = 'sam';
export const TOM = 'tom';
export const FINANCE_ROLES = ['reviewer', 'finance-approver'] as const;
export const T0 = '2025-03-01T10:00:00.000Z';
export const TIMEOUT_MS = 30 * 60_000;
/** T0 + TIMEOUT_MS. */
export const EXPIRES_AT = '2025-03-01T10:30:00.000Z';
export const SNAP_A = `sha256:${'a'.repeat(64)}`;
export const SNAP_B = `sha256:${'b'.repeat(64)}`;
export const HASH_1 = `sha256:${'1'.repeat(64)}`;
export const HASH_2 = `sha256:${'2'.repeat(64)}`;
export const APPROVAL_REF = 'apr-ref-1';
export const APPROVAL_ID = 'approval-1';
export const KEY = 'idem-job-42';
export const RULE = 'require-approval-prod-finance';
export const OPERATOR = 'olga';
export const UNKNOWN_REASON = 'lease of worker-1 expired after the side effect began; no outcome recorded';
export const RESOLVE_REASON = 'the bank statement shows the payment';
/**
 * What the dispatcher reads from the log for the grant of `history.approved()`: SNAP_A was active
 * at its position. The dispatch commands carry it by default (ignored for allowed jobs).
 */
export const CONFIRMING_FACT: GrantLogFact = { approval_id: APPROVAL_ID, active_policy_snapshot: SNAP_A };

/** An instant `ms` milliseconds after T0. */
export function at(ms: number): string {
  return new Date(Date.parse(T0) + ms).toISOString();
}

export const REQUEST: JobRequest = {
  topic: 'finance.payment.execute',
  priority: 'high',
  tenant: 'acme',
  submitted_by: SUBMITTER,
  labels: { env: 'production' },
  payload: { amount: 1200, currency: 'EUR' },
};

export const REQUIREMENT: ApprovalRequirement = {
  required: 1,
  reviewers: ['finance-approver'],
  timeout_ms: TIMEOUT_MS,
  on_timeout: 'reject',
};

// ---------------------------------------------------------------------------------------------
// commands

interface MetaOptions {
  readonly now?: string;
  readonly actor?: string;
  readonly commandId?: string;
  readonly causationId?: string;
}

export function meta(options: MetaOptions = {}): CommandMetadata {
  return {
    commandId: options.commandId ?? 'cmd-1',
    correlationId: 'corr-1',
    ...(options.causationId ? { causationId: options.causationId } : {}),
    actor: options.actor ?? 'tester',
    now: options.now ?? T0,
  };
}

type Over<D> = Partial<D> & MetaOptions;

function split<D>(over: Over<D>): { data: Partial<D>; metadata: CommandMetadata } {
  const { now, actor, commandId, causationId, ...data } = over;
  return { data: data as Partial<D>, metadata: meta({ now, actor, commandId, causationId }) };
}

export interface SubmitOver extends MetaOptions {
  readonly job_id?: string;
  readonly request?: Partial<JobRequest>;
  readonly job_hash?: string;
  readonly policy?: Partial<PolicyOutcome>;
  readonly approval?: Partial<ApprovalRequirement>;
  readonly approval_ref?: string;
}

export const cmd = {
  submit(over: SubmitOver = {}): SubmitJob {
    const { data, metadata } = split(over);
    const decision = over.policy?.decision ?? 'require_human';
    return {
      type: 'SubmitJob',
      data: {
        job_id: data.job_id ?? JOB_ID,
        request: { ...REQUEST, ...over.request },
        job_hash: over.job_hash ?? HASH_1,
        policy: {
          decision,
          rule_id: decision === 'allow' ? 'allow-readonly' : decision === 'deny' ? 'deny-default' : RULE,
          reason: `matched ${decision}`,
          policy_snapshot: SNAP_A,
          policy_version: 'v1',
          ...(decision === 'require_human' ? { approval: { ...REQUIREMENT, ...over.approval } } : {}),
          ...over.policy,
        },
        ...(decision === 'require_human' || over.approval_ref !== undefined
          ? { approval_ref: over.approval_ref ?? APPROVAL_REF }
          : {}),
      },
      metadata,
    };
  },
  approve(over: Over<ApproveJobData> = {}): ApproveJob {
    const { data, metadata } = split(over);
    return {
      type: 'ApproveJob',
      data: {
        job_id: JOB_ID,
        reviewer: RITA,
        reviewer_roles: FINANCE_ROLES,
        reason: 'invoice checked',
        active_policy_snapshot: SNAP_A,
        current_job_hash: HASH_1,
        approval_id: APPROVAL_ID,
        ...data,
      },
      metadata: { ...metadata, actor: over.actor ?? data.reviewer ?? RITA },
    };
  },
  reject(over: Over<RejectJobData> = {}): RejectJob {
    const { data, metadata } = split(over);
    return {
      type: 'RejectJob',
      data: { job_id: JOB_ID, reviewer: RITA, reviewer_roles: FINANCE_ROLES, reason: 'amount too high', ...data },
      metadata: { ...metadata, actor: over.actor ?? data.reviewer ?? RITA },
    };
  },
  expire(over: MetaOptions & { job_id?: string } = {}): ExpireApproval {
    const { data, metadata } = split(over);
    return { type: 'ExpireApproval', data: { job_id: JOB_ID, ...data }, metadata: { ...metadata, actor: 'expiry' } };
  },
  invalidate(over: Over<InvalidateApprovalData> = {}): InvalidateApproval {
    const { data, metadata } = split(over);
    return {
      type: 'InvalidateApproval',
      data: { job_id: JOB_ID, code: 'snapshot_changed', expected: SNAP_A, current: SNAP_B, ...data },
      metadata,
    };
  },
  claim(over: Over<ClaimDispatchData> = {}): ClaimDispatch {
    const { data, metadata } = split(over);
    return {
      type: 'ClaimDispatch',
      data: { job_id: JOB_ID, attempt: 1, idempotency_key: KEY, claimed_by: 'dispatcher-a', grant_fact: CONFIRMING_FACT, ...data },
      metadata,
    };
  },
  record(over: Over<RecordDispatchData> = {}): RecordDispatch {
    const { data, metadata } = split(over);
    return {
      type: 'RecordDispatch',
      data: {
        job_id: JOB_ID,
        attempt: 1,
        idempotency_key: KEY,
        topic: 'signoff.jobs.dispatch',
        partition: 3,
        offset: '17',
        ...data,
      },
      metadata,
    };
  },
  replay(over: Over<ReplayDispatchData> = {}): ReplayDispatch {
    const { data, metadata } = split(over);
    return {
      type: 'ReplayDispatch',
      data: { job_id: JOB_ID, attempt: 2, reason: 'not_acknowledged', max_attempts: 5, grant_fact: CONFIRMING_FACT, ...data },
      metadata,
    };
  },
  started(over: Over<RecordJobStartedData> = {}): RecordJobStarted {
    const { data, metadata } = split(over);
    return {
      type: 'RecordJobStarted',
      data: { job_id: JOB_ID, idempotency_key: KEY, attempt: 1, worker: 'worker-1', ...data },
      metadata,
    };
  },
  completed(over: Over<RecordJobCompletedData> = {}): RecordJobCompleted {
    const { data, metadata } = split(over);
    return {
      type: 'RecordJobCompleted',
      data: { job_id: JOB_ID, idempotency_key: KEY, attempt: 1, status: 'succeeded', result: { paid: true }, ...data },
      metadata,
    };
  },
  unknown(over: Over<RecordJobOutcomeUnknownData> = {}): RecordJobOutcomeUnknown {
    const { data, metadata } = split(over);
    return {
      type: 'RecordJobOutcomeUnknown',
      data: { job_id: JOB_ID, idempotency_key: KEY, attempt: 1, worker: 'worker-2', reason: UNKNOWN_REASON, fencing_token: 1, ...data },
      metadata,
    };
  },
  resolve(over: Over<ResolveJobOutcomeData> = {}): ResolveJobOutcome {
    const { data, metadata } = split(over);
    return {
      type: 'ResolveJobOutcome',
      data: { job_id: JOB_ID, outcome: 'succeeded', reason: RESOLVE_REASON, resolved_by: OPERATOR, ...data },
      metadata: { ...metadata, actor: over.actor ?? data.resolved_by ?? OPERATOR },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// events, written by hand

function e<T extends JobEvent['type']>(type: T, data: SignoffEventMap[T], when: string = T0, actor = 'svc'): JobEvent {
  const metadata: EventMetadata = { correlationId: 'corr-0', causationId: 'cause-0', actor, at: when };
  return { type, data, metadata } as unknown as SignoffEvent<T> as JobEvent;
}

export const ev = {
  submitted: (over: { job_hash?: string; request?: Partial<JobRequest>; at?: string } = {}) =>
    e('JobSubmitted', { job_id: JOB_ID, request: { ...REQUEST, ...over.request }, job_hash: over.job_hash ?? HASH_1 }, over.at),
  evaluated: (decision: 'allow' | 'deny' | 'require_human', over: { rule_id?: string | null; snapshot?: string } = {}) =>
    e('PolicyEvaluated', {
      job_id: JOB_ID,
      decision,
      rule_id: over.rule_id !== undefined ? over.rule_id : decision === 'require_human' ? RULE : `${decision}-rule`,
      reason: `matched ${decision}`,
      policy_snapshot: over.snapshot ?? SNAP_A,
      policy_version: 'v1',
    }),
  requested: (over: Partial<ApprovalRequirement> & { requested_at?: string; expires_at?: string } = {}) => {
    const { requested_at, expires_at, ...requirement } = over;
    return e('ApprovalRequested', {
      job_id: JOB_ID,
      approval_ref: APPROVAL_REF,
      rule_id: RULE,
      policy_snapshot: SNAP_A,
      job_hash: HASH_1,
      requirement: { ...REQUIREMENT, ...requirement },
      requested_at: requested_at ?? T0,
      expires_at: expires_at ?? EXPIRES_AT,
    });
  },
  vote: (reviewer: string, approvals: number, required: number, when = at(60_000)) =>
    e('ApprovalVoteRecorded', { job_id: JOB_ID, approval_ref: APPROVAL_REF, reviewer, reason: 'ok', approvals, required }, when, reviewer),
  /** Edit before approve: an amendment `by` proposed, and its vote (as the decider writes them). */
  amendedVote: (by: string, approvals: number, required: number, request: JobRequest, amendment_hash: string, when = at(60_000)) => [
    e(
      'JobAmendmentProposed',
      {
        job_id: JOB_ID,
        approval_ref: APPROVAL_REF,
        amendment_hash,
        amends_job_hash: HASH_1,
        request,
        changed_paths: ['payload.amount'],
        proposed_by: by,
        evaluation: { decision: 'allow', rule_id: 'allow-small', policy_snapshot: SNAP_A },
      },
      when,
      by,
    ),
    e('ApprovalVoteRecorded', { job_id: JOB_ID, approval_ref: APPROVAL_REF, reviewer: by, reason: 'ok', approvals, required, approved_job_hash: amendment_hash }, when, by),
  ],
  granted: (approved_by: readonly string[], approval_id = APPROVAL_ID, when = at(60_000)) =>
    e(
      'ApprovalGranted',
      { job_id: JOB_ID, approval_ref: APPROVAL_REF, approval_id, approved_by, policy_snapshot: SNAP_A, job_hash: HASH_1, reason: 'ok' },
      when,
    ),
  rejected: (rejected_by = RITA, reason = 'no') =>
    e('ApprovalRejected', { job_id: JOB_ID, approval_ref: APPROVAL_REF, rejected_by, reason }, at(60_000), rejected_by),
  expired: () =>
    e('ApprovalExpired', { job_id: JOB_ID, approval_ref: APPROVAL_REF, expires_at: EXPIRES_AT, on_timeout: 'reject' }, EXPIRES_AT),
  invalidated: () =>
    e('ApprovalInvalidated', {
      job_id: JOB_ID,
      approval_ref: APPROVAL_REF,
      code: 'snapshot_changed',
      expected: SNAP_A,
      current: SNAP_B,
    }),
  claimed: (attempt = 1, claimed_by = 'dispatcher-a', key = KEY) =>
    e('DispatchClaimed', { job_id: JOB_ID, attempt, idempotency_key: key, claimed_by }, at(61_000)),
  dispatched: (attempt = 1, partition = 3, offset = '17') =>
    e(
      'JobDispatched',
      { job_id: JOB_ID, attempt, idempotency_key: KEY, topic: 'signoff.jobs.dispatch', partition, offset },
      at(62_000),
    ),
  replayed: (attempt: number, reason: 'not_published' | 'not_recorded' | 'not_acknowledged' | 'not_completed' = 'not_acknowledged') =>
    e('DispatchReplayed', { job_id: JOB_ID, attempt, reason }, at(70_000 * attempt)),
  abandoned: (attempts: number, max_attempts = attempts, reason: 'not_published' | 'not_recorded' | 'not_acknowledged' | 'not_completed' = 'not_acknowledged') =>
    e('DispatchAbandoned', { job_id: JOB_ID, attempts, max_attempts, reason }, at(900_000)),
  started: (worker = 'worker-1') => e('JobStarted', { job_id: JOB_ID, idempotency_key: KEY, worker }, at(63_000)),
  completed: (status: 'succeeded' | 'failed' = 'succeeded') =>
    e(
      'JobCompleted',
      {
        job_id: JOB_ID,
        idempotency_key: KEY,
        status,
        ...(status === 'succeeded' ? { result: { paid: true } } : { error: 'bank refused' }),
      },
      at(64_000),
    ),
  unknown: (worker = 'worker-2') =>
    e('JobOutcomeUnknown', { job_id: JOB_ID, idempotency_key: KEY, worker, reason: UNKNOWN_REASON, fencing_token: 1 }, at(65_000), worker),
  resolved: (outcome: 'succeeded' | 'failed' = 'succeeded') =>
    e('JobOutcomeResolved', { job_id: JOB_ID, outcome, reason: RESOLVE_REASON, resolved_by: OPERATOR }, at(66_000), OPERATOR),
};

/** Histories that reach each state. */
export const history = {
  awaiting: (requirement: Partial<ApprovalRequirement> = {}) => [
    ev.submitted(),
    ev.evaluated('require_human'),
    ev.requested(requirement),
  ],
  allowed: () => [ev.submitted(), ev.evaluated('allow')],
  denied: () => [ev.submitted(), ev.evaluated('deny')],
  approved: () => [...history.awaiting(), ev.vote(RITA, 1, 1), ev.granted([RITA])],
  rejected: () => [...history.awaiting(), ev.rejected()],
  expired: () => [...history.awaiting(), ev.expired()],
  invalidated: () => [...history.awaiting(), ev.invalidated()],
  claimed: () => [...history.approved(), ev.claimed()],
  dispatched: () => [...history.claimed(), ev.dispatched()],
  running: () => [...history.dispatched(), ev.started()],
  succeeded: () => [...history.running(), ev.completed('succeeded')],
  failed: () => [...history.running(), ev.completed('failed')],
  unknown: () => [...history.running(), ev.unknown()],
  resolved: (outcome: 'succeeded' | 'failed' = 'succeeded') => [...history.unknown(), ev.resolved(outcome)],
  abandoned: () => [
    ...history.dispatched(),
    ev.replayed(2),
    ev.claimed(2),
    ev.dispatched(2),
    ev.abandoned(2, 2),
  ],
};

/** States in which a job may never be dispatched, with the code a dispatch or report command gets. */
export const NEVER_DISPATCHABLE = [
  ['initial', 'not_found'],
  ['APPROVAL_REQUIRED', 'forbidden'],
  ['DENIED', 'policy_denied'],
  ['REJECTED', 'already_rejected'],
  ['EXPIRED', 'expired'],
  ['INVALIDATED', 'invalidated'],
] as const;

/** One history per state (approved flavours for the released states). */
export const HISTORY_BY_STATUS: Readonly<Record<Exclude<JobStatus, 'submitted'>, () => JobEvent[]>> = {
  initial: () => [],
  APPROVAL_REQUIRED: history.awaiting,
  DENIED: history.denied,
  REJECTED: history.rejected,
  EXPIRED: history.expired,
  INVALIDATED: history.invalidated,
  PENDING: history.approved,
  DISPATCHED: history.dispatched,
  RUNNING: history.running,
  SUCCEEDED: history.succeeded,
  FAILED: history.failed,
  UNKNOWN: history.unknown,
  DISPATCH_ABANDONED: history.abandoned,
};

// ---------------------------------------------------------------------------------------------
// given / when / then

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

type Projected = { readonly type: JobEvent['type']; readonly data: unknown };

/** The result of a decision, with chainable assertions. */
export class Then<C extends JobCommand> {
  constructor(
    readonly before: JobAggregateState,
    readonly command: C,
    readonly result: DecideResult<JobOutcomeMap[C['type']]>,
  ) {}

  /** Events emitted (empty on a refusal). */
  get events(): JobEvent[] {
    return this.result.ok ? this.result.events : [];
  }

  /** The state after applying the emitted events. */
  get after(): JobAggregateState {
    return foldJob(this.events, this.before);
  }

  get outcome(): JobOutcomeMap[C['type']] {
    if (!this.result.ok) throw new Error(`expected an accepted result, got ${JSON.stringify(this.result)}`);
    return this.result.outcome;
  }

  /** Accepted with exactly these events (type and data, in order). */
  thenEvents(expected: readonly Projected[]): this {
    expect(this.result, 'expected the command to be accepted').toMatchObject({ ok: true });
    expect(this.events.map((ev) => ({ type: ev.type, data: ev.data }))).toEqual(expected);
    return this;
  }

  /** Accepted with events of these types, in order. */
  thenEventTypes(...types: JobEvent['type'][]): this {
    expect(this.result, 'expected the command to be accepted').toMatchObject({ ok: true });
    expect(this.events.map((ev) => ev.type)).toEqual(types);
    return this;
  }

  /** Accepted, nothing to append (an idempotent repeat or a business no-op). */
  thenNoEvents(): this {
    return this.thenEvents([]);
  }

  thenOutcome(expected: JobOutcomeMap[C['type']]): this {
    expect(this.result, 'expected the command to be accepted').toMatchObject({ ok: true });
    expect(this.outcome).toEqual(expected);
    return this;
  }

  /** Refused with this code (and, when given, exactly these details). */
  thenRefused(code: ErrorCode, details?: Readonly<Record<string, unknown>>): this {
    expect(this.result).toMatchObject({ ok: false, code });
    if (!this.result.ok) {
      expect(this.result.message.length).toBeGreaterThan(0);
      if (details !== undefined) expect(this.result.details).toEqual(details);
    }
    return this;
  }

  thenStatus(status: JobStatus): this {
    expect(this.after.status).toBe(status);
    return this;
  }
}

/** A job whose stream holds these events. */
export function given(...events: Array<JobEvent | readonly JobEvent[]>) {
  const stream = events.flat() as JobEvent[];
  const state = deepFreeze(foldJob(deepFreeze(structuredClone(stream))));
  return {
    state,
    events: stream,
    when<C extends JobCommand>(command: C): Then<C> {
      deepFreeze(command);
      const result = decide(command, state);
      // Pure: the same input decides the same again (and nothing was mutated: all is frozen).
      expect(decide(command, state)).toEqual(result);
      if (result.ok) {
        const m = command.metadata;
        for (const event of result.events) {
          expect(event.metadata).toEqual({
            correlationId: m.correlationId,
            causationId: m.causationId ?? m.commandId,
            actor: m.actor,
            at: m.now,
          });
        }
      }
      return new Then(state, command, result);
    },
  };
}
