import { CommandMetadata, foldJob } from '@signoff/approvals';
import { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { awaitingJob } from '../testing/awaiting-job';
import { rejectJobCommand } from './reject-job.builder';

const ref = { tenant: 'acme', jobId: 'job-1' };
const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'c-1', actor: 'rita', now: '2025-03-01T10:05:00.000Z' };
const rita: Principal = { sub: 'rita', roles: new Set(['reviewer']), topics: ['payments.*'], tenants: ['acme'], claimedRoles: ['reviewer', 'finance-approver'] };
const awaiting = () => awaitingJob(ref.jobId);

describe('rejectJobCommand', () => {
  it('builds RejectJob with the reviewer, their roles and the reason', () => {
    expect(rejectJobCommand({ principal: rita, ref, input: { reason: 'no' }, metadata }, awaiting())).toEqual({
      type: 'RejectJob',
      data: { job_id: 'job-1', reviewer: 'rita', reviewer_roles: ['reviewer', 'finance-approver'], reason: 'no' },
      metadata,
    });
  });

  it('is 404 for a missing job and 403 outside the caller\'s topics', () => {
    expect(() => rejectJobCommand({ principal: rita, ref, input: { reason: 'no' }, metadata }, foldJob([]))).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => rejectJobCommand({ principal: { ...rita, topics: ['deploys.*'] }, ref, input: { reason: 'no' }, metadata }, awaiting())).toThrow(
      expect.objectContaining({ code: 'forbidden' }),
    );
  });
});
