import { FixedClock } from '@signoff/core/testing';
import { describe, expect, it } from 'vitest';
import { EXPIRY_ACTOR, expireApprovalCommand, expiryCommandId } from './expire-approval.builder';

describe('expireApprovalCommand', () => {
  const ref = { tenant: 'acme', jobId: 'job-1' };

  it('expires the job\'s approval as the expiry actor, stamped by the clock', () => {
    const clock = new FixedClock(new Date('2025-03-01T10:30:00.000Z'));
    const commandId = expiryCommandId(ref, 'apr_1');
    expect(expireApprovalCommand(ref, 'apr_1', clock)).toEqual({
      type: 'ExpireApproval',
      data: { job_id: 'job-1' },
      metadata: { commandId, correlationId: commandId, actor: EXPIRY_ACTOR, now: '2025-03-01T10:30:00.000Z' },
    });
  });

  it('names the command by job and approval, so every sweep expiring it writes the same event ids', () => {
    expect(expiryCommandId(ref, 'apr_1')).toBe(expiryCommandId({ ...ref }, 'apr_1'));
    expect(expiryCommandId(ref, 'apr_1')).not.toBe(expiryCommandId(ref, 'apr_2'));
    expect(expiryCommandId(ref, 'apr_1')).not.toBe(expiryCommandId({ tenant: 'other', jobId: 'job-1' }, 'apr_1'));
    expect(expiryCommandId(ref, 'apr_1')).toMatch(/^expire\/.*job-1.*\/apr_1$/);
  });
});
