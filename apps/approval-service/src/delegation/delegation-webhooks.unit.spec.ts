import { describe, expect, it } from 'vitest';
import { toWebhookPayload } from '../webhooks/webhook-payload.mapper';

const job = { tenant: 'acme', topic: 'finance.payment.execute' };
const metadata = { correlationId: 'c', causationId: 'c', actor: 'bob', at: '2026-12-02T10:05:00.000Z' };
const onBehalf = [{ delegation_id: 'd-1', delegator: 'alice', delegate: 'bob' }];

describe('webhook payloads of votes cast under a delegation', () => {
  it('vote_recorded, granted and rejected name who cast the vote and the chain; own votes do not', () => {
    const vote = toWebhookPayload(
      { type: 'ApprovalVoteRecorded', data: { job_id: 'j1', approval_ref: 'a', reviewer: 'alice', reason: null, approvals: 1, required: 2, cast_by: 'bob', on_behalf_of: onBehalf }, metadata },
      job,
      new Date(),
    );
    expect(vote.data).toMatchObject({ reviewer: 'alice', cast_by: 'bob', on_behalf_of: onBehalf });
    const grant = toWebhookPayload(
      {
        type: 'ApprovalGranted',
        data: { job_id: 'j1', approval_ref: 'a', approval_id: 'x', approved_by: ['alice'], policy_snapshot: 's', job_hash: 'h', reason: null, cast_by: 'bob', on_behalf_of: onBehalf },
        metadata,
      },
      job,
      new Date(),
    );
    expect(grant.data).toMatchObject({ approved_by: ['alice'], cast_by: 'bob' });
    const reject = toWebhookPayload({ type: 'ApprovalRejected', data: { job_id: 'j1', approval_ref: 'a', rejected_by: 'alice', reason: 'no', cast_by: 'bob', on_behalf_of: onBehalf }, metadata }, job, new Date());
    expect(reject.data).toMatchObject({ rejected_by: 'alice', cast_by: 'bob' });
    const own = toWebhookPayload({ type: 'ApprovalRejected', data: { job_id: 'j1', approval_ref: 'a', rejected_by: 'alice', reason: 'no' }, metadata }, job, new Date());
    expect(own.data).not.toHaveProperty('cast_by');
    expect(own.data).not.toHaveProperty('on_behalf_of');
  });
});
