import type { JobEvent } from '@signoff/contracts';
import { approveJob, expireApproval, invalidateApproval, rejectJob } from './job.approval.decider';
import type { JobCommand } from './job.commands';
import { checkCommandData, checkEnvelope } from './job.command-validation';
import { invalid } from './job.decision-kit';
import { escalateApproval } from './job.escalation.decider';
import { claimDispatch, recordDispatch, replayDispatch } from './job.dispatch.decider';
import type { DecideResult, JobOutcomeMap } from './job.outcomes';
import { recordJobCompleted, recordJobOutcomeUnknown, recordJobStarted, resolveJobOutcome } from './job.results.decider';
import { evolve, initialState, type JobAggregateState } from './job.state';
import { submitJob } from './job.submission.decider';

export { NO_ACTIVE_POLICY } from './job.dispatch.decider';

/*
 * The job aggregate's decisions. Pure: no clock, no randomness, no I/O; `metadata.now` and every
 * id come in with the command. Expected business outcomes (a rejection, an expiry, a lost claim)
 * are accepted results; a refusal carries the stable API error code and appends nothing.
 *
 * This file routes; each concern decides in its own file (see the lib's README):
 * job.submission.decider.ts, job.approval.decider.ts, job.escalation.decider.ts, job.dispatch.decider.ts and
 * job.results.decider.ts, after job.command-validation.ts has checked the command's shape.
 */

function decideAny(command: JobCommand, state: JobAggregateState): DecideResult {
  // 1. The envelope (metadata, job id, the right stream), 2. the command's fields, 3. its decider.
  const envelope = checkEnvelope(command, state);
  if (typeof envelope !== 'number') return envelope;
  const nowMs = envelope;
  const fieldError = checkCommandData(command, nowMs);
  if (fieldError) return fieldError;
  switch (command.type) {
    case 'SubmitJob':
      return submitJob(command, state, nowMs);
    case 'ApproveJob':
      return approveJob(command, state, nowMs);
    case 'RejectJob':
      return rejectJob(command, state, nowMs);
    case 'ExpireApproval':
      return expireApproval(command, state, nowMs);
    case 'EscalateApproval':
      return escalateApproval(command, state, nowMs);
    case 'InvalidateApproval':
      return invalidateApproval(command, state, nowMs);
    case 'ClaimDispatch':
      return claimDispatch(command, state);
    case 'RecordDispatch':
      return recordDispatch(command, state);
    case 'ReplayDispatch':
      return replayDispatch(command, state, nowMs);
    case 'RecordJobStarted':
      return recordJobStarted(command, state);
    case 'RecordJobCompleted':
      return recordJobCompleted(command, state);
    case 'RecordJobOutcomeUnknown':
      return recordJobOutcomeUnknown(command, state);
    case 'ResolveJobOutcome':
      return resolveJobOutcome(command, state);
    default: {
      const unknown: never = command;
      return invalid(`unknown command ${String((unknown as { type?: unknown }).type)}`, 'type');
    }
  }
}

/**
 * Decides a command against the folded state of the job's stream. Never throws and never reads a
 * clock: accepted results carry the events to append (with the expected revision the state was
 * folded at) and the outcome to answer; refused results carry a stable `ErrorCode`.
 */
export function decide<C extends JobCommand>(command: C, state: JobAggregateState): DecideResult<JobOutcomeMap[C['type']]> {
  // decideAny dispatches on command.type to the decider of that type, whose outcome is JobOutcomeMap[type].
  return decideAny(command, state) as DecideResult<JobOutcomeMap[C['type']]>;
}

/** The decider triple, as emmett / fmodel-ts shape it. */
export interface Decider<Command, State, Event, Result> {
  decide(command: Command, state: State): Result;
  evolve(state: State, event: Event): State;
  initialState(): State;
}

/** The job aggregate: `decide`, `evolve` and `initialState` together. */
export const jobDecider: Decider<JobCommand, JobAggregateState, JobEvent, DecideResult> = {
  decide,
  evolve,
  initialState,
};
