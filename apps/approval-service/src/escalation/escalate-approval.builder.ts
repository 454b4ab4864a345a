import type { EscalateApproval } from '@signoff/approvals';
import { describeJobRef, JobRef } from '@signoff/contracts';
import { Clock, commandMetadata } from '@signoff/core';

/** The actor of reminders and escalations (`actor` on ApprovalReminderSent / ApprovalEscalated). */
export const ESCALATION_ACTOR = 'system:approval-escalation';

/**
 * The id of the command that fires one step of one approval: the same for every sweep and every
 * instance that tries it, so concurrent sweepers (or a retried append) write the same event ids
 * and the step is recorded once.
 */
export function escalationCommandId(ref: JobRef, approvalRef: string, step: number): string {
  return `escalate/${describeJobRef(ref)}/${approvalRef}/${step}`;
}

/** The EscalateApproval command for a due step, stamped now (the decider checks it is due and next). */
export function escalateApprovalCommand(ref: JobRef, approvalRef: string, step: number, clock: Clock): EscalateApproval {
  return {
    type: 'EscalateApproval',
    data: { job_id: ref.jobId, step },
    metadata: commandMetadata(clock, { actor: ESCALATION_ACTOR, commandId: escalationCommandId(ref, approvalRef, step) }),
  };
}
