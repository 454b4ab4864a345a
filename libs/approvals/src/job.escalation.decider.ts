import type { JobEvent } from '@signoff/contracts';
import type { EscalateApproval } from './job.commands';
import { accept, approvalPhase, eventOf, expiredRefusal, instantMs, invalid, notAwaiting, notFound, refuse, settledRefusal } from './job.decision-kit';
import type { DecideResult, EscalateApprovalOutcome } from './job.outcomes';
import { firedSteps, type JobAggregateState } from './job.state';

/*
 * Reminders and escalations (issue 12 section 4): the steps of the requirement's `escalate`, fired
 * by the escalation sweeper from the log like expiry. One step per command, in order, once each.
 */

/**
 * Escalate, in this order (each refusal with its stable code):
 * 1. `not_found`; 2. `not_awaiting_approval` (allowed or denied job);
 * 3. a settled approval: refused with the code of how it settled (`already_approved`,
 *    `already_rejected`, `expired`, `invalidated`): nobody is reminded of a decided approval;
 * 4. `expired` once `now >= expires_at`, even before the expiry is recorded: never after expiry;
 * 5. `invalid_request` for a step the requirement does not have;
 * 6. a step that already fired -> accepted `already_escalated`, no events (two sweepers);
 * 7. `invalid_request` for a step beyond the next one (steps fire in order) or one not due yet
 *    (`now < requested_at + after`, with `due_at` in the details);
 * 8. ApprovalReminderSent for a notify-only step, ApprovalEscalated for a step with
 *    `add_reviewers` (from then on those roles may approve). A step missed while no instance ran
 *    fires late, at the first sweep after the next start; its event records when it fired.
 */
export function escalateApproval(command: EscalateApproval, state: JobAggregateState, nowMs: number): DecideResult<EscalateApprovalOutcome> {
  const { data, metadata } = command;
  const phase = approvalPhase(state, nowMs);
  if (phase.phase === 'none') return notFound(data.job_id);
  if (phase.phase === 'not_required') return notAwaiting(data.job_id);
  if (phase.phase === 'settled') return settledRefusal(data.job_id, phase.settled);
  const { approval } = phase.state;
  if (phase.due) return expiredRefusal(data.job_id, approval.expires_at);

  const steps = approval.requirement.escalate ?? [];
  const step = steps[data.step - 1];
  if (step === undefined) {
    return invalid(`the approval of job ${data.job_id} has ${steps.length} escalation step(s), not a step ${data.step}`, 'step');
  }
  const fired = firedSteps(approval);
  if (data.step <= fired) return accept([], { job_id: data.job_id, status: 'already_escalated', step: data.step });
  if (data.step > fired + 1) {
    return invalid(`step ${fired + 1} of the approval of job ${data.job_id} has not fired yet: steps fire in order`, 'step');
  }
  const requestedMs = instantMs(approval.requested_at);
  const dueMs = requestedMs === null ? null : requestedMs + step.after_ms;
  if (dueMs === null || nowMs < dueMs) {
    return refuse('invalid_request', `step ${data.step} of the approval of job ${data.job_id} is not due yet`, {
      field: 'step',
      ...(dueMs === null ? {} : { due_at: new Date(dueMs).toISOString() }),
    });
  }

  // A step without its own targets tells the approval's (recorded as absent: the default audience).
  const notify = step.notify ?? approval.requirement.notify;
  const audience = notify === undefined ? {} : { notify: [...notify] };
  const common = { job_id: data.job_id, approval_ref: approval.approval_ref, step: data.step };
  const added = step.add_reviewers ?? [];
  const events: JobEvent[] = [];
  if (added.length === 0) {
    events.push(eventOf('ApprovalReminderSent', { ...common, ...audience, at: metadata.now }, metadata));
    return accept(events, { job_id: data.job_id, status: 'reminded', step: data.step });
  }
  events.push(eventOf('ApprovalEscalated', { ...common, add_reviewers: [...added], ...audience }, metadata));
  return accept(events, { job_id: data.job_id, status: 'escalated', step: data.step, add_reviewers: [...added] });
}
