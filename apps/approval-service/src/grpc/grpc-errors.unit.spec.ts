import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { CODE_TRAILER, problemOf, toGrpcError } from './grpc-errors';

describe('gRPC error mapping (DESIGN section 5)', () => {
  it.each([
    ['snapshot_changed', status.FAILED_PRECONDITION],
    ['job_request_changed', status.FAILED_PRECONDITION],
    ['already_rejected', status.FAILED_PRECONDITION],
    ['stale_review', status.FAILED_PRECONDITION],
    ['not_found', status.NOT_FOUND],
    ['unauthenticated', status.UNAUTHENTICATED],
    ['forbidden', status.PERMISSION_DENIED],
    ['self_approval_forbidden', status.PERMISSION_DENIED],
    ['busy', status.UNAVAILABLE],
    ['invalid_request', status.INVALID_ARGUMENT],
  ] as const)('%s -> %s, with the code as details and in the trailers', (code, expected) => {
    const error = toGrpcError(new SignoffError(code, 'message', { expected: 'a', current: 'b' }, code === 'busy' ? { 'Retry-After': '1' } : {}));
    expect(error.code).toBe(expected);
    expect(error.details).toBe(code);
    expect(error.metadata.get(CODE_TRAILER)).toEqual([code]);
    expect(problemOf(error.metadata)).toMatchObject({ code, detail: 'message', expected: 'a', current: 'b' });
    if (code === 'busy') expect(error.metadata.get('retry-after')).toEqual(['1']);
  });

  it('never leaks an unexpected error: INTERNAL with the code internal', () => {
    const error = toGrpcError(new Error('password=hunter2 at db.internal'));
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toBe('internal');
    expect(JSON.stringify(problemOf(error.metadata))).not.toContain('hunter2');
  });
});
