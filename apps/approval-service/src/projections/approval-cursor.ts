import type { ApprovalRequiredJob } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import type { ApprovalSummary } from './approval-summary';

/** A place in the pending list, ordered by (requested_at, job_id, tenant): oldest first. */
export interface ApprovalCursor {
  readonly requestedAt: string;
  readonly jobId: string;
  /** The job id alone is not unique: the same id may be open in two tenants. */
  readonly tenant: string;
}

/**
 * The tenant of a cursor made before cursors named one: sorts after every tenant, so resuming
 * from such a cursor repeats nothing (it may skip another tenant's approval with the very same
 * requested_at and job id, which did not exist when such cursors were made).
 */
const AFTER_EVERY_TENANT = '\uffff';

/** The cursor position of an open approval or of a summary. */
export function cursorOf(approval: ApprovalRequiredJob | ApprovalSummary): ApprovalCursor {
  if ('approval' in approval) return { requestedAt: approval.approval.requested_at, jobId: approval.job.job_id, tenant: approval.job.request.tenant };
  return { requestedAt: approval.requested_at, jobId: approval.job_id, tenant: approval.tenant };
}

/** The opaque `next_cursor` of a page (base64url JSON; clients must not build or parse it). */
export function encodeCursor(cursor: ApprovalCursor): string {
  return Buffer.from(JSON.stringify([cursor.requestedAt, cursor.jobId, cursor.tenant]), 'utf8').toString('base64url');
}

/** Reads a cursor a client sent back (also one made before cursors named the tenant); 400 `invalid_request` if it is not one of ours. */
export function decodeCursor(text: string): ApprovalCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3) || !value.every((part) => typeof part === 'string')) {
    throw new SignoffError('invalid_request', 'cursor is not a cursor this API returned', {
      errors: [{ field: 'cursor', message: 'pass the next_cursor of the previous page unchanged' }],
    });
  }
  const [requestedAt, jobId, tenant] = value as string[];
  return { requestedAt, jobId, tenant: tenant ?? AFTER_EVERY_TENANT };
}

/** Orders by requested_at, then job id, then tenant (a total order: (tenant, job id) names one job). */
export function compareCursor(a: ApprovalCursor, b: ApprovalCursor): number {
  if (a.requestedAt !== b.requestedAt) return a.requestedAt < b.requestedAt ? -1 : 1;
  if (a.jobId !== b.jobId) return a.jobId < b.jobId ? -1 : 1;
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  return 0;
}
