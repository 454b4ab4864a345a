import { CommandMetadata, foldJob } from '@signoff/approvals';
import { ActivePolicyView } from '@signoff/core';
import { jobHash } from '@signoff/policy-engine';
import { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { awaitingJob, REVIEWED_SNAPSHOT, reviewedRequest } from '../testing/awaiting-job';
import { approveJobCommand, ApproveJobInput, storedRequestHash } from './approve-job.builder';

const SNAP_A = REVIEWED_SNAPSHOT;
const SNAP_B = `sha256:${'b'.repeat(64)}`;
const ref = { tenant: 'acme', jobId: 'job-1' };
const request = reviewedRequest;
const awaiting = () => awaitingJob(ref.jobId);
const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'c-1', actor: 'rita', now: '2025-03-01T10:05:00.000Z' };
const rita: Principal = { sub: 'rita', roles: new Set(['reviewer']), topics: ['payments.*'], tenants: ['acme'], claimedRoles: ['reviewer', 'finance-approver'] };

const active = (snapshot: string): ActivePolicyView => ({ snapshot, version: '1' }) as unknown as ActivePolicyView;

function input(overrides: Partial<ApproveJobInput> = {}): ApproveJobInput {
  return {
    principal: rita,
    ref,
    input: { reason: 'ok', policy_snapshot: SNAP_A, job_hash: jobHash(request) },
    activePolicy: () => active(SNAP_A),
    snapshotMode: 'strict',
    approvalId: 'approval-1',
    metadata,
    ...overrides,
  };
}

describe('approveJobCommand', () => {
  it('builds ApproveJob with what the decider checks the vote against', () => {
    expect(approveJobCommand(input(), awaiting())).toEqual({
      type: 'ApproveJob',
      data: {
        job_id: 'job-1',
        reviewer: 'rita',
        reviewer_roles: ['reviewer', 'finance-approver'],
        reason: 'ok',
        active_policy_snapshot: SNAP_A,
        snapshot_equivalent: false,
        current_job_hash: jobHash(request),
        reviewed_snapshot: SNAP_A,
        reviewed_job_hash: jobHash(request),
        approval_id: 'approval-1',
      },
      metadata,
    });
  });

  it('hashes a stored request as jobHash does, once per request object (a copy with other content hashes anew)', () => {
    const job = awaiting();
    const first = approveJobCommand(input(), job);
    const again = approveJobCommand(input(), job);
    expect(again.data.current_job_hash).toBe(first.data.current_job_hash);
    expect(first.data.current_job_hash).toBe(jobHash(request));
    const other = { ...request, priority: request.priority + 1 };
    expect(storedRequestHash(other)).toBe(jobHash(other));
    expect(storedRequestHash(other)).not.toBe(storedRequestHash(request));
  });

  it('sends reason null and no reviewed values when the reviewer gave none', () => {
    const command = approveJobCommand(input({ input: {} }), awaiting());
    expect(command.data).toMatchObject({ reason: null, reviewed_snapshot: undefined, reviewed_job_hash: undefined });
  });

  it('in strict mode another active snapshot is not equivalent', () => {
    const command = approveJobCommand(input({ activePolicy: () => active(SNAP_B) }), awaiting());
    expect(command.data).toMatchObject({ active_policy_snapshot: SNAP_B, snapshot_equivalent: false });
  });

  it('is 404 not_found for a job that does not exist or of a tenant the caller may not see, before reading the policy', () => {
    let asked = 0;
    const activePolicy = () => {
      asked++;
      return active(SNAP_A);
    };
    expect(() => approveJobCommand(input({ activePolicy }), foldJob([]))).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => approveJobCommand(input({ activePolicy, principal: { ...rita, tenants: ['other'] } }), awaiting())).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(asked).toBe(0);
  });

  it('is 403 forbidden when the caller\'s topics do not cover the job', () => {
    expect(() => approveJobCommand(input({ principal: { ...rita, topics: ['deploys.*'] } }), awaiting())).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });
});
