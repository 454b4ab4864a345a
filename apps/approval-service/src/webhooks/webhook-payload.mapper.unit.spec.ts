import { describe, expect, it } from 'vitest';
import { toWebhookPayload } from './webhook-payload.mapper';

const job = { tenant: 'acme', topic: 'finance.payment.execute' };
const metadata = { correlationId: 'c', causationId: 'c', actor: 'rita', at: '2026-03-02T10:05:00.000Z' };
const created = new Date('2026-03-02T10:05:01.000Z');

describe('webhook payloads', () => {
  it('approval.requested carries the binding facts and no request payload', () => {
    const payload = toWebhookPayload(
      {
        type: 'ApprovalRequested',
        data: {
          job_id: 'j1',
          approval_ref: 'apr_1',
          rule_id: 'r1',
          policy_snapshot: 'sha256:p',
          job_hash: 'sha256:j',
          requirement: { required: 2, reviewers: ['cfo'], timeout_ms: 3_600_000, on_timeout: 'reject' },
          requested_at: '2026-03-02T10:05:00.000Z',
          expires_at: '2026-03-02T11:05:00.000Z',
        },
        metadata,
      },
      job,
      created,
    );
    expect(payload).toEqual({
      type: 'approval.requested',
      timestamp: '2026-03-02T10:05:00.000Z',
      data: {
        job_id: 'j1',
        tenant: 'acme',
        topic: 'finance.payment.execute',
        approval_ref: 'apr_1',
        rule_id: 'r1',
        policy_snapshot: 'sha256:p',
        job_hash: 'sha256:j',
        required: 2,
        requested_at: '2026-03-02T10:05:00.000Z',
        expires_at: '2026-03-02T11:05:00.000Z',
      },
    });
  });

  it('maps votes, grants, rejections, expiries and invalidations; the time falls back to the store time', () => {
    const common = { job_id: 'j1', approval_ref: 'apr_1' };
    expect(toWebhookPayload({ type: 'ApprovalVoteRecorded', data: { ...common, reviewer: 'rita', reason: 'secret note', approvals: 1, required: 2 } }, job, created)).toEqual({
      type: 'approval.vote_recorded',
      timestamp: created.toISOString(),
      data: { ...common, tenant: 'acme', topic: job.topic, reviewer: 'rita', approvals: 1, required: 2 },
    });
    // Edit before approve: a vote for an amendment says which hash it approved.
    expect(toWebhookPayload({ type: 'ApprovalVoteRecorded', data: { ...common, reviewer: 'rita', reason: null, approvals: 1, required: 2, approved_job_hash: 'h2' } }, job, created).data).toEqual({
      ...common, tenant: 'acme', topic: job.topic, reviewer: 'rita', approvals: 1, required: 2, approved_job_hash: 'h2',
    });
    expect(toWebhookPayload({ type: 'ApprovalGranted', data: { ...common, approval_id: 'a', approved_by: ['rita'], policy_snapshot: 'p', job_hash: 'h', reason: 'x' } }, job, created).data).toEqual({
      ...common, tenant: 'acme', topic: job.topic, approval_id: 'a', approved_by: ['rita'], policy_snapshot: 'p', job_hash: 'h',
    });
    expect(toWebhookPayload({ type: 'ApprovalRejected', data: { ...common, rejected_by: 'rita', reason: 'too much' } }, job, created)).toMatchObject({ type: 'approval.rejected', data: { rejected_by: 'rita', reason: 'too much' } });
    expect(toWebhookPayload({ type: 'ApprovalExpired', data: { ...common, expires_at: 'e', on_timeout: 'reject' } }, job, created)).toMatchObject({ type: 'approval.expired', data: { expires_at: 'e', on_timeout: 'reject' } });
    expect(toWebhookPayload({ type: 'ApprovalInvalidated', data: { ...common, code: 'snapshot_changed', expected: 'a', current: 'b' } }, job, created)).toMatchObject({ type: 'approval.invalidated', data: { code: 'snapshot_changed' } });
  });
});
