import { describe, expect, it } from 'vitest';
import { ApprovalRequirement } from '@signoff/contracts';
import { normalizeJobRequest } from '@signoff/policy-engine';
import { policyView } from '../testing/policy-view';
import { POLICY_V1, POLICY_V2_UNRELATED_CHANGE, POLICY_V3_STRICTER_PAYMENTS } from '../testing/test-policies';
import { decidesTheSame, honours } from './approval-integrity';

const v1 = policyView(POLICY_V1);
const payment = normalizeJobRequest({ topic: 'finance.payment.execute', submitted_by: 'agent-7', labels: { env: 'production' } });
const requirement: ApprovalRequirement = { required: 1, reviewers: [], timeout_ms: 3_600_000, on_timeout: 'reject' };
const approval = { policy_snapshot: v1.snapshot, rule_id: 'require-approval-prod-finance', requirement };

describe('snapshot modes (DESIGN section 3)', () => {
  it('both modes honour an approval under the snapshot it was requested under', () => {
    expect(honours('strict', v1, payment, approval)).toBe(true);
    expect(honours('decision', v1, payment, approval)).toBe(true);
  });

  it('strict refuses any other snapshot, even one that decides the same', () => {
    expect(honours('strict', policyView(POLICY_V2_UNRELATED_CHANGE), payment, approval)).toBe(false);
  });

  it('decision mode honours a policy that decides the job by the same rule with the same requirement', () => {
    expect(honours('decision', policyView(POLICY_V2_UNRELATED_CHANGE), payment, approval)).toBe(true);
  });

  it('decision mode refuses a changed requirement, another rule, or a decision that is no longer require_human', () => {
    expect(honours('decision', policyView(POLICY_V3_STRICTER_PAYMENTS), payment, approval)).toBe(false);
    const renamed = policyView(POLICY_V1.replace('id: require-approval-prod-finance', 'id: payments-need-a-human'));
    expect(honours('decision', renamed, payment, approval)).toBe(false);
    const longer = policyView(POLICY_V1.replace('approval: {required: 1, timeout: 1h}', 'approval: {required: 1, timeout: 2h}'));
    expect(honours('decision', longer, payment, approval)).toBe(false);
    const allowed = policyView(POLICY_V1.replace('decision: require_human\n    approval: {required: 1, timeout: 1h}', 'decision: allow'));
    expect(honours('decision', allowed, payment, approval)).toBe(false);
  });

  it('decision mode fails closed when the re-evaluation runs out of its budget (a value too long for a matches)', () => {
    const guarded = policyView(
      POLICY_V2_UNRELATED_CHANGE.replace('rules:\n', 'rules:\n  - id: note-check\n    when: {payload.note: {matches: "^(.*a){8}$"}}\n    decision: deny\n'),
    );
    const long = normalizeJobRequest({ topic: 'finance.payment.execute', submitted_by: 'agent-7', labels: { env: 'production' }, payload: { note: 'b'.repeat(10_000) } });
    expect(decidesTheSame(guarded.compiled, long, approval)).toBe(false);
    expect(honours('decision', guarded, long, approval)).toBe(false);
    expect(honours('decision', guarded, payment, approval)).toBe(true);
  });

  it('reviewer roles compare as a set', () => {
    const a = policyView(POLICY_V1.replace('reviewers: [change-approver]', 'reviewers: [change-approver, sre]'));
    const b = policyView(POLICY_V1.replace('reviewers: [change-approver]', 'reviewers: [sre, change-approver]'));
    const change = normalizeJobRequest({ topic: 'infra.change', submitted_by: 'x' });
    const bound = { rule_id: 'infra-change-by-approvers', requirement: { ...requirement, reviewers: ['change-approver', 'sre'] } };
    expect(decidesTheSame(a.compiled, change, bound)).toBe(true);
    expect(decidesTheSame(b.compiled, change, bound)).toBe(true);
  });

  it('re-evaluation neither consults nor moves throttle counters: a throttle rule counts as under its limit', () => {
    const throttled = policyView(`
version: v1
default: deny
rules:
  - id: payments-burst
    when: {topic: finance.payment.execute}
    decision: throttle
    throttle: {limit: 1, per: 1h}
  - id: require-approval-prod-finance
    when: {topic: finance.payment.execute, env: production}
    decision: require_human
    approval: {required: 1, timeout: 1h}
`);
    expect(decidesTheSame(throttled.compiled, payment, approval)).toBe(true);
    expect(decidesTheSame(throttled.compiled, payment, approval)).toBe(true);
  });
});
