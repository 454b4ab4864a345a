import { describe, expect, it } from 'vitest';
import { FixedClock } from '@signoff/core/testing';
import { ESCALATION_ACTOR, escalateApprovalCommand, escalationCommandId } from './escalate-approval.builder';

describe('escalateApprovalCommand', () => {
  const ref = { tenant: 'acme', jobId: 'job-1' };

  it('derives its id from (job, approval, step): every instance fires a step with the same id', () => {
    const clock = new FixedClock(new Date('2026-01-01T00:00:00.000Z'));
    const a = escalateApprovalCommand(ref, 'apr-1', 2, clock);
    clock.advance(5_000);
    const b = escalateApprovalCommand(ref, 'apr-1', 2, clock);
    expect(a.metadata.commandId).toBe(b.metadata.commandId);
    expect(a.metadata.commandId).toBe(escalationCommandId(ref, 'apr-1', 2));
    expect(escalationCommandId(ref, 'apr-1', 1)).not.toBe(a.metadata.commandId);
    expect(escalationCommandId({ tenant: 'other', jobId: 'job-1' }, 'apr-1', 2)).not.toBe(a.metadata.commandId);
    expect(a).toMatchObject({ type: 'EscalateApproval', data: { job_id: 'job-1', step: 2 }, metadata: { actor: ESCALATION_ACTOR, now: '2026-01-01T00:00:00.000Z' } });
  });
});
