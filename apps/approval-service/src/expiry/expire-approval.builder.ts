import type { ExpireApproval } from '@signoff/approvals';
import { describeJobRef, JobRef } from '@signoff/contracts';
import { Clock, commandMetadata } from '@signoff/core';

/** The actor of expiries (`actor` on ApprovalExpired). */
export const EXPIRY_ACTOR = 'system:approval-expiry';

/**
 * The id of the command that expires one approval: the same for every sweep that tries it, so
 * two instances (or a retried append) expiring the same approval write the same event ids.
 */
export function expiryCommandId(ref: JobRef, approvalRef: string): string {
  return `expire/${describeJobRef(ref)}/${approvalRef}`;
}

/** The ExpireApproval command for a due approval, stamped now (the decider checks it is due). */
export function expireApprovalCommand(ref: JobRef, approvalRef: string, clock: Clock): ExpireApproval {
  return {
    type: 'ExpireApproval',
    data: { job_id: ref.jobId },
    metadata: commandMetadata(clock, { actor: EXPIRY_ACTOR, commandId: expiryCommandId(ref, approvalRef) }),
  };
}
