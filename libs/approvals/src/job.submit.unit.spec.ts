import { describe, expect, it } from 'vitest';
import { toJobView } from './job.view';
import {
  APPROVAL_REF,
  EXPIRES_AT,
  HASH_1,
  HASH_2,
  HISTORY_BY_STATUS,
  JOB_ID,
  REQUEST,
  REQUIREMENT,
  RULE,
  SNAP_A,
  SNAP_B,
  T0,
  cmd,
  ev,
  given,
  history,
} from './testing/job.test-kit';

const policyData = (decision: 'allow' | 'deny' | 'require_human', rule_id: string) => ({
  job_id: JOB_ID,
  decision,
  rule_id,
  reason: `matched ${decision}`,
  policy_snapshot: SNAP_A,
  policy_version: 'v1',
});

describe('SubmitJob', () => {
  it('records an allowed job as PENDING and answers accepted', () => {
    given()
      .when(cmd.submit({ policy: { decision: 'allow' } }))
      .thenEvents([
        { type: 'JobSubmitted', data: { job_id: JOB_ID, request: REQUEST, job_hash: HASH_1 } },
        { type: 'PolicyEvaluated', data: policyData('allow', 'allow-readonly') },
      ])
      .thenOutcome({
        job_id: JOB_ID,
        status: 'accepted',
        decision: 'allow',
        rule_id: 'allow-readonly',
        policy_snapshot: SNAP_A,
        job_hash: HASH_1,
      })
      .thenStatus('PENDING');
  });

  it('records a denied job as DENIED (audit) and answers denied with the rule', () => {
    given()
      .when(cmd.submit({ policy: { decision: 'deny' } }))
      .thenEvents([
        { type: 'JobSubmitted', data: { job_id: JOB_ID, request: REQUEST, job_hash: HASH_1 } },
        { type: 'PolicyEvaluated', data: policyData('deny', 'deny-default') },
      ])
      .thenOutcome({
        job_id: JOB_ID,
        status: 'denied',
        decision: 'deny',
        rule_id: 'deny-default',
        reason: 'matched deny',
        policy_snapshot: SNAP_A,
        job_hash: HASH_1,
      })
      .thenStatus('DENIED');
  });

  it('opens an approval for require_human, bound to snapshot and hash, expiring at now + timeout', () => {
    given()
      .when(cmd.submit())
      .thenEvents([
        { type: 'JobSubmitted', data: { job_id: JOB_ID, request: REQUEST, job_hash: HASH_1 } },
        { type: 'PolicyEvaluated', data: policyData('require_human', RULE) },
        {
          type: 'ApprovalRequested',
          data: {
            job_id: JOB_ID,
            approval_ref: APPROVAL_REF,
            rule_id: RULE,
            policy_snapshot: SNAP_A,
            job_hash: HASH_1,
            requirement: REQUIREMENT,
            requested_at: T0,
            expires_at: EXPIRES_AT,
          },
        },
      ])
      .thenOutcome({
        job_id: JOB_ID,
        status: 'approval_required',
        decision: 'require_human',
        approval_ref: APPROVAL_REF,
        rule_id: RULE,
        policy_snapshot: SNAP_A,
        job_hash: HASH_1,
      })
      .thenStatus('APPROVAL_REQUIRED');
  });

  it('computes expires_at in UTC from a now with an offset', () => {
    const then = given().when(cmd.submit({ now: '2025-03-01T11:00:00+01:00', approval: { timeout_ms: 90_000 } }));
    expect(then.events[2]).toMatchObject({ data: { requested_at: '2025-03-01T11:00:00+01:00', expires_at: '2025-03-01T10:01:30.000Z' } });
  });

  it('stamps the events with the command metadata; causationId defaults to the command id', () => {
    const then = given().when(cmd.submit({ commandId: 'c-9', actor: 'agent-7', causationId: 'msg-3' }));
    for (const event of then.events) {
      expect(event.metadata).toEqual({ correlationId: 'corr-1', causationId: 'msg-3', actor: 'agent-7', at: T0 });
    }
    const defaulted = given().when(cmd.submit({ commandId: 'c-9' }));
    expect(defaulted.events[0]!.metadata.causationId).toBe('c-9');
  });

  describe('the same job id again', () => {
    it.each(['allow', 'deny', 'require_human'] as const)(
      'with the same hash (originally %s) records nothing and repeats the original answer',
      (decision) => {
        const original = given().when(cmd.submit({ policy: { decision } }));
        const other = decision === 'allow' ? 'deny' : 'allow';
        given(original.events)
          .when(cmd.submit({ policy: { decision: other }, now: '2025-03-02T00:00:00.000Z', commandId: 'cmd-2' }))
          .thenNoEvents()
          .thenOutcome({ job_id: JOB_ID, status: 'duplicate', answer: original.outcome as never });
      },
    );

    it('answers the original answer whatever the new policy evaluation says', () => {
      given(history.awaiting())
        .when(cmd.submit({ policy: { decision: 'deny', policy_snapshot: SNAP_B } }))
        .thenNoEvents()
        .thenOutcome({
          job_id: JOB_ID,
          status: 'duplicate',
          answer: {
            job_id: JOB_ID,
            status: 'approval_required',
            decision: 'require_human',
            approval_ref: APPROVAL_REF,
            rule_id: RULE,
            policy_snapshot: SNAP_A,
            job_hash: HASH_1,
          },
        });
    });

    it.each(Object.entries(HISTORY_BY_STATUS).filter(([s]) => s !== 'initial'))(
      'with the same hash after the job reached %s: still the original answer, no events',
      (_status, make) => {
        const then = given(make()).when(cmd.submit()).thenNoEvents();
        expect(then.outcome).toMatchObject({ status: 'duplicate' });
      },
    );

    it.each(Object.entries(HISTORY_BY_STATUS).filter(([s]) => s !== 'initial'))(
      'with a different hash when the job is %s: 409 job_request_changed',
      (_status, make) => {
        given(make())
          .when(cmd.submit({ job_hash: HASH_2 }))
          .thenRefused('job_request_changed', { expected: HASH_1, current: HASH_2 });
      },
    );
  });

  describe('a cut submission (JobSubmitted alone, never written by this decider)', () => {
    it('is not a job yet: no view, approve answers not_found', () => {
      const g = given(ev.submitted());
      expect(g.state.status).toBe('submitted');
      expect(toJobView(g.state)).toBeNull();
      g.when(cmd.approve()).thenRefused('not_found');
      g.when(cmd.claim()).thenRefused('not_found');
    });

    it('is recorded whole again by the same submission', () => {
      given(ev.submitted(), ev.evaluated('require_human'))
        .when(cmd.submit())
        .thenEventTypes('JobSubmitted', 'PolicyEvaluated', 'ApprovalRequested')
        .thenStatus('APPROVAL_REQUIRED');
    });

    it('refuses other content: job_request_changed', () => {
      given(ev.submitted()).when(cmd.submit({ job_hash: HASH_2 })).thenRefused('job_request_changed', {
        expected: HASH_1,
        current: HASH_2,
      });
    });
  });

  describe('invalid commands are refused with invalid_request, nothing recorded', () => {
    it.each([
      ['a throttle decision', cmd.submit({ policy: { decision: 'throttle' as 'allow' } })],
      ['require_human without approval_ref', cmd.submit({ approval_ref: '' })],
      ['require_human without requirement', cmd.submit({ policy: { approval: undefined } })],
      ['required 0', cmd.submit({ approval: { required: 0 } })],
      ['required 1.5', cmd.submit({ approval: { required: 1.5 } })],
      ['timeout 0', cmd.submit({ approval: { timeout_ms: 0 } })],
      ['timeout beyond the Date range', cmd.submit({ approval: { timeout_ms: 9e15 } })],
      ['reviewers not a list', cmd.submit({ approval: { reviewers: 'x' as unknown as string[] } })],
      ['unknown on_timeout', cmd.submit({ approval: { on_timeout: 'approve' as 'reject' } })],
      ['no job_hash', cmd.submit({ job_hash: '' })],
      ['no policy snapshot', cmd.submit({ policy: { policy_snapshot: '' } })],
      ['now without a time', cmd.submit({ now: '2025-03-01' })],
      ['now not a date', cmd.submit({ now: 'yesterday' })],
      ['now without an offset', cmd.submit({ now: '2025-03-01T10:00:00' })],
      ['no job_id', cmd.submit({ job_id: '' })],
      ['no actor', cmd.submit({ actor: '' })],
    ])('%s', (_name, command) => {
      given().when(command).thenRefused('invalid_request');
    });

    it('a command for another job than the stream read', () => {
      given(history.allowed()).when(cmd.submit({ job_id: 'job-other' })).thenRefused('invalid_request');
    });
  });
});
