import { CommandMetadata, decide, foldJob, JobAggregateState, SubmitJob } from '@signoff/approvals';
import { ActivePolicyView } from '@signoff/core';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { rejectJobCommand } from '../reject/reject-job.builder';
import { approveJobCommand, ApproveJobInput } from './approve-job.builder';

const SNAP_A = `sha256:${'a'.repeat(64)}`;
const SNAP_B = `sha256:${'b'.repeat(64)}`;
const ref = { tenant: 'acme', jobId: 'job-1' };
const request = normalizeJobRequest({ topic: 'payments.prod', submitted_by: 'agent-7', tenant: 'acme', payload: { amount: 1 } });
const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'c-1', actor: 'rita', now: '2025-03-01T10:05:00.000Z' };
const rita: Principal = { sub: 'rita', roles: new Set(['reviewer']), topics: ['payments.*'], tenants: ['acme'], claimedRoles: ['reviewer', 'finance-approver'] };

/** A job of `acme` awaiting one reviewer, requested under SNAP_A. */
function awaiting(): JobAggregateState {
  const submit: SubmitJob = {
    type: 'SubmitJob',
    data: {
      job_id: ref.jobId,
      request,
      job_hash: jobHash(request),
      policy: {
        decision: 'require_human',
        rule_id: 'needs-review',
        reason: 'review',
        policy_snapshot: SNAP_A,
        policy_version: '1',
        approval: { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' },
      },
      approval_ref: 'apr_1',
    },
    metadata: { commandId: 's-1', correlationId: 's-1', actor: 'agent-7', now: '2025-03-01T10:00:00.000Z' },
  };
  const result = decide(submit, foldJob([]));
  if (!result.ok) throw new Error(result.message);
  return foldJob(result.events);
}

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
