import { describe, expect, it } from 'vitest';
import type { ApprovalRequirement, JobEvent } from '@signoff/contracts';
import type { EscalateApproval } from './job.commands';
import { APPROVAL_REF, FINANCE_ROLES, JOB_ID, SUBMITTER, TIMEOUT_MS, at, cmd, given, history, meta } from './testing/job.test-kit';

const STEPS: Partial<ApprovalRequirement> = {
  notify: ['webhook:ops'],
  escalate: [
    { after_ms: 10 * 60_000, notify: ['slack'] },
    { after_ms: 20 * 60_000, add_reviewers: ['finance-director'] },
  ],
};

function escalate(step: number, now: string): EscalateApproval {
  return { type: 'EscalateApproval', data: { job_id: JOB_ID, step }, metadata: { ...meta({ now }), actor: 'system:approval-escalation' } };
}

const reminded = (when = at(10 * 60_000)): JobEvent =>
  ({
    type: 'ApprovalReminderSent',
    data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, step: 1, notify: ['slack'], at: when },
    metadata: { correlationId: 'c', causationId: 'c', actor: 'system:approval-escalation', at: when },
  }) as JobEvent;
const escalated = (): JobEvent =>
  ({
    type: 'ApprovalEscalated',
    data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, step: 2, add_reviewers: ['finance-director'], notify: ['webhook:ops'] },
    metadata: { correlationId: 'c', causationId: 'c', actor: 'system:approval-escalation', at: at(20 * 60_000) },
  }) as JobEvent;

describe('EscalateApproval', () => {
  it('a due notify-only step: ApprovalReminderSent with the step targets and the instant it fired', () => {
    given(history.awaiting(STEPS))
      .when(escalate(1, at(10 * 60_000)))
      .thenEvents([{ type: 'ApprovalReminderSent', data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, step: 1, notify: ['slack'], at: at(10 * 60_000) } }])
      .thenOutcome({ job_id: JOB_ID, status: 'reminded', step: 1 })
      .thenStatus('APPROVAL_REQUIRED');
  });

  it('a step with add_reviewers: ApprovalEscalated; without its own notify it tells the approval targets', () => {
    given(history.awaiting(STEPS), reminded())
      .when(escalate(2, at(20 * 60_000)))
      .thenEvents([
        { type: 'ApprovalEscalated', data: { job_id: JOB_ID, approval_ref: APPROVAL_REF, step: 2, add_reviewers: ['finance-director'], notify: ['webhook:ops'] } },
      ])
      .thenOutcome({ job_id: JOB_ID, status: 'escalated', step: 2, add_reviewers: ['finance-director'] });
  });

  it('no targets anywhere: notify is left out (the default audience)', () => {
    const then = given(history.awaiting({ escalate: [{ after_ms: 60_000, add_reviewers: ['boss'] }] })).when(escalate(1, at(60_000)));
    expect(then.events[0]?.data).toEqual({ job_id: JOB_ID, approval_ref: APPROVAL_REF, step: 1, add_reviewers: ['boss'] });
  });

  it('a step that fired: already_escalated, no events (two sweepers)', () => {
    given(history.awaiting(STEPS), reminded()).when(escalate(1, at(11 * 60_000))).thenNoEvents().thenOutcome({ job_id: JOB_ID, status: 'already_escalated', step: 1 });
  });

  it('steps fire in order: step 2 before step 1 is refused', () => {
    given(history.awaiting(STEPS)).when(escalate(2, at(25 * 60_000))).thenRefused('invalid_request');
  });

  it('a missed step fires late after downtime (both steps due: one after the other)', () => {
    const late = at(25 * 60_000);
    const first = given(history.awaiting(STEPS)).when(escalate(1, late));
    first.thenEventTypes('ApprovalReminderSent');
    expect(first.events[0]?.data).toMatchObject({ at: late });
    given(history.awaiting(STEPS), first.events).when(escalate(2, late)).thenEventTypes('ApprovalEscalated');
  });

  it('before the step is due: refused with due_at', () => {
    given(history.awaiting(STEPS))
      .when(escalate(1, at(10 * 60_000 - 1)))
      .thenRefused('invalid_request', { field: 'step', due_at: at(10 * 60_000) });
  });

  it('never after expiry, even before the expiry is recorded', () => {
    given(history.awaiting(STEPS)).when(escalate(1, at(TIMEOUT_MS))).thenRefused('expired');
  });

  it('a step the requirement does not have, or step 0', () => {
    given(history.awaiting(STEPS)).when(escalate(3, at(25 * 60_000))).thenRefused('invalid_request');
    given(history.awaiting()).when(escalate(1, at(25 * 60_000))).thenRefused('invalid_request');
    given(history.awaiting(STEPS)).when(escalate(0, at(25 * 60_000))).thenRefused('invalid_request');
  });

  it.each([
    ['no job', () => [], 'not_found'],
    ['allowed', history.allowed, 'not_awaiting_approval'],
    ['approved', history.approved, 'already_approved'],
    ['rejected', history.rejected, 'already_rejected'],
    ['expired', history.expired, 'expired'],
    ['invalidated', history.invalidated, 'invalidated'],
  ] as const)('%s: refused %s', (_name, events, code) => {
    given(events()).when(escalate(1, at(10 * 60_000))).thenRefused(code);
  });
});

describe('reviewers added by an escalation', () => {
  const director = { reviewer: 'dana', reviewer_roles: ['reviewer', 'finance-director'] };

  it('before the escalation: the added role is forbidden', () => {
    given(history.awaiting(STEPS), reminded()).when(cmd.approve(director)).thenRefused('forbidden');
  });

  it('after it: the added role may approve (and reject), the rule roles still may', () => {
    given(history.awaiting(STEPS), reminded(), escalated()).when(cmd.approve({ ...director, now: at(21 * 60_000) })).thenOutcome({
      job_id: JOB_ID,
      status: 'approved',
      approval_id: 'approval-1',
      state: 'PENDING',
      approvals: 1,
      required: 1,
    });
    given(history.awaiting(STEPS), reminded(), escalated()).when(cmd.reject({ ...director, now: at(21 * 60_000) })).thenStatus('REJECTED');
    given(history.awaiting(STEPS), reminded(), escalated()).when(cmd.approve({ reviewer_roles: FINANCE_ROLES, now: at(21 * 60_000) })).thenStatus('PENDING');
  });

  it('self-approval stays forbidden for a submitter holding the added role', () => {
    given(history.awaiting(STEPS), reminded(), escalated())
      .when(cmd.approve({ reviewer: SUBMITTER, reviewer_roles: ['finance-director'], now: at(21 * 60_000) }))
      .thenRefused('self_approval_forbidden');
  });

  it('evolve: a step out of order or repeated changes nothing', () => {
    const state = given(history.awaiting(STEPS), escalated()).state;
    expect(state.status === 'APPROVAL_REQUIRED' && state.approval.escalation).toBeFalsy();
    const twice = given(history.awaiting(STEPS), reminded(), reminded()).state;
    expect(twice.status === 'APPROVAL_REQUIRED' && twice.approval.escalation?.fired.length).toBe(1);
  });

  it('the job view shows fired steps and added roles', async () => {
    const { toJobView } = await import('./job.view');
    const view = toJobView(given(history.awaiting(STEPS), reminded(), escalated()).state as never);
    expect(view?.approval).toMatchObject({
      escalations: [
        { step: 1, kind: 'reminder', at: at(10 * 60_000) },
        { step: 2, kind: 'escalation', at: at(20 * 60_000) },
      ],
      added_reviewers: ['finance-director'],
    });
  });
});


describe('SubmitJob: the recorded notify and escalate are checked', () => {
  it.each([
    ['steps out of order', { escalate: [{ after_ms: 20 * 60_000 }, { after_ms: 10 * 60_000 }] }, 'policy.approval.escalate[1].after_ms'],
    ['a step at the timeout', { escalate: [{ after_ms: TIMEOUT_MS }] }, 'policy.approval.escalate[0].after_ms'],
    ['a notify that is not a list', { notify: 'slack' as unknown as string[] }, 'policy.approval.notify'],
    ['roles that are not strings', { escalate: [{ after_ms: 1000, add_reviewers: [1] as unknown as string[] }] }, 'policy.approval.escalate[0].add_reviewers'],
  ])('%s: invalid_request naming the field', (_name, approval, field) => {
    const then = given().when(cmd.submit({ approval })).thenRefused('invalid_request');
    expect(then.result.ok === false && (then.result.details?.errors as { field: string }[])[0]?.field).toBe(field);
  });

  it('a valid requirement with steps is recorded as given', () => {
    const then = given().when(cmd.submit({ approval: STEPS }));
    expect(then.events.find((e) => e.type === 'ApprovalRequested')?.data).toMatchObject({ requirement: { notify: ['webhook:ops'], escalate: STEPS.escalate } });
  });
});
