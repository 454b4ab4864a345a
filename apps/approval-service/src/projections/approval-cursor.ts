import { SignoffError } from '@signoff/contracts';

/** A place in the pending list, ordered by (requested_at, job_id): oldest first. */
export interface ApprovalCursor {
  readonly requestedAt: string;
  readonly jobId: string;
}

/** The opaque `next_cursor` of a page (base64url JSON; clients must not build or parse it). */
export function encodeCursor(cursor: ApprovalCursor): string {
  return Buffer.from(JSON.stringify([cursor.requestedAt, cursor.jobId]), 'utf8').toString('base64url');
}

/** Reads a cursor a client sent back; 400 `invalid_request` if it is not one of ours. */
export function decodeCursor(text: string): ApprovalCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') {
    throw new SignoffError('invalid_request', 'cursor is not a cursor this API returned', {
      errors: [{ field: 'cursor', message: 'pass the next_cursor of the previous page unchanged' }],
    });
  }
  return { requestedAt: value[0], jobId: value[1] };
}

/** Orders by requested_at, then job id (a total order: job ids are unique). */
export function compareCursor(a: ApprovalCursor, b: ApprovalCursor): number {
  if (a.requestedAt !== b.requestedAt) return a.requestedAt < b.requestedAt ? -1 : 1;
  if (a.jobId !== b.jobId) return a.jobId < b.jobId ? -1 : 1;
  return 0;
}
