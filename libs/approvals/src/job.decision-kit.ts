import type { ErrorCode, JobEvent, SignoffEvent, SignoffEventMap } from '@signoff/contracts';
import type { CommandMetadata } from './job.commands';
import type { DecideAccepted, DecideRefused, JobOutcome } from './job.outcomes';
import { phaseOf, type ApprovalRequiredJob, type ClosedApprovalJob, type GrantedApproval, type JobAggregateState, type ReleasedJobState } from './job.state';

/*
 * What every decision is built from (internal to the lib, not in the barrel): the events and
 * results a decider returns, the refusals several commands share, and where a job stands with
 * respect to its approval and its dispatch.
 */

type JobEventType = JobEvent['type'];

/** An event of the command: `at` is the command's `now`, `causationId` defaults to its `commandId`. */
export function eventOf<T extends JobEventType>(type: T, data: SignoffEventMap[T], meta: CommandMetadata): SignoffEvent<T> {
  const metadata = {
    correlationId: meta.correlationId,
    causationId: meta.causationId ?? meta.commandId,
    actor: meta.actor,
    at: meta.now,
  };
  // The mapped SignoffEvent<T> does not narrow on a generic T; the fields are exactly its shape.
  return { type, data, metadata } as unknown as SignoffEvent<T>;
}

export function accept<O extends JobOutcome>(events: JobEvent[], outcome: O): DecideAccepted<O> {
  return { ok: true, events, outcome };
}

export function refuse(code: ErrorCode, message: string, details?: Readonly<Record<string, unknown>>): DecideRefused {
  return details === undefined ? { ok: false, code, message } : { ok: false, code, message, details };
}

/** `invalid_request`, naming the offending field when there is one. */
export function invalid(message: string, field?: string): DecideRefused {
  return refuse('invalid_request', message, field === undefined ? undefined : { errors: [{ field, message }] });
}

/** Tells a refusal from a value that has no `ok` member (a state, a checked fact). */
export function isRefusal<T extends object>(value: T | DecideRefused): value is DecideRefused {
  return 'ok' in value;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds of an ISO-8601 instant with an explicit offset, or null. */
export function instantMs(value: unknown): number | null {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

// ---------------------------------------------------------------------------------------------
// refusals shared by several commands

export const notFound = (jobId: string): DecideRefused => refuse('not_found', `job ${jobId} not found`);

export const notAwaiting = (jobId: string): DecideRefused =>
  refuse('not_awaiting_approval', `job ${jobId} does not await an approval: its policy decision required none`);

export const expiredRefusal = (jobId: string, expiresAt: string): DecideRefused =>
  refuse('expired', `the approval of job ${jobId} has expired`, expiresAt ? { expires_at: expiresAt } : undefined);

// ---------------------------------------------------------------------------------------------
// approval phase: where a job stands with respect to its approval

/** An approval that is no longer open: granted, or closed without a grant. */
export type SettledApproval =
  | { readonly as: 'approved'; readonly approval: GrantedApproval }
  | { readonly as: 'rejected' }
  | { readonly as: 'expired'; readonly expires_at: string }
  | { readonly as: 'invalidated' };

export type ApprovalPhase =
  | { readonly phase: 'none' }
  | { readonly phase: 'not_required' }
  | { readonly phase: 'awaiting'; readonly state: ApprovalRequiredJob; readonly due: boolean }
  | { readonly phase: 'settled'; readonly settled: SettledApproval };

function settledAs(state: ClosedApprovalJob): SettledApproval {
  switch (state.status) {
    case 'REJECTED':
      return { as: 'rejected' };
    case 'EXPIRED':
      return { as: 'expired', expires_at: state.approval.expires_at };
    case 'INVALIDATED':
      return { as: 'invalidated' };
    default: {
      const _exhaustive: never = state;
      return { as: 'invalidated' };
    }
  }
}

/** Where the approval of a job stands at `nowMs` (an awaiting approval may already be due). */
export function approvalPhase(state: JobAggregateState, nowMs: number): ApprovalPhase {
  const phase = phaseOf(state);
  switch (phase.phase) {
    case 'absent':
      return { phase: 'none' };
    case 'denied':
      return { phase: 'not_required' };
    case 'awaiting_approval': {
      // An unreadable expiry fails closed: the approval counts as expired.
      const expiresMs = instantMs(phase.state.approval.expires_at);
      return { phase: 'awaiting', state: phase.state, due: expiresMs === null || nowMs >= expiresMs };
    }
    case 'approval_closed':
      return { phase: 'settled', settled: settledAs(phase.state) };
    case 'released': {
      const { approval } = phase.state;
      return approval === null ? { phase: 'not_required' } : { phase: 'settled', settled: { as: 'approved', approval } };
    }
    default: {
      const _exhaustive: never = phase;
      return { phase: 'none' };
    }
  }
}

/** The refusal of a command that needs an open approval (or a released job) when it settled otherwise. */
export function settledRefusal(jobId: string, settled: SettledApproval): DecideRefused {
  switch (settled.as) {
    case 'approved':
      return refuse('already_approved', `job ${jobId} is already approved`, { approval_id: settled.approval.grant.approval_id });
    case 'rejected':
      return refuse('already_rejected', `the approval of job ${jobId} was rejected`);
    case 'expired':
      return expiredRefusal(jobId, settled.expires_at);
    case 'invalidated':
      return refuse('invalidated', `the approval of job ${jobId} was invalidated`);
    default: {
      const _exhaustive: never = settled;
      return notFound(jobId);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// released: the dispatch and the worker reports need a job that may be dispatched

/** The released job, or why a job in this state may never be dispatched. */
export function releasedOrRefusal(state: JobAggregateState, jobId: string): ReleasedJobState | DecideRefused {
  const phase = phaseOf(state);
  switch (phase.phase) {
    case 'released':
      return phase.state;
    case 'absent':
      return notFound(jobId);
    case 'awaiting_approval':
      // Invariant 2: nothing is dispatched before ApprovalGranted.
      return refuse('forbidden', `job ${jobId} is not approved and cannot be dispatched`);
    case 'denied':
      return refuse('policy_denied', `job ${jobId} was denied by policy`, { rule_id: phase.state.evaluation.rule_id });
    case 'approval_closed':
      return settledRefusal(jobId, settledAs(phase.state));
    default: {
      const _exhaustive: never = phase;
      return notFound(jobId);
    }
  }
}
