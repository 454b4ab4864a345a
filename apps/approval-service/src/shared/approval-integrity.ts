import { Inject, Injectable } from '@nestjs/common';
import type { Approval } from '@signoff/approvals';
import type { ApprovalRequirement, JobRequest } from '@signoff/contracts';
import { ActivePolicyView, SIGNOFF_CONFIG } from '@signoff/core';
import { CompiledPolicy, EvaluationBudgetExceededError, evaluateSync, ThrottleCounter, ThrottleHit } from '@signoff/policy-engine';
import { SignoffConfig, SnapshotMode } from '@signoff/runtime';

/**
 * Re-evaluation for `SNAPSHOT_MODE=decision` asks "which rule would decide this job now", not
 * "may it be submitted now": throttle counters are neither consulted nor moved, every throttle
 * rule counts as under its limit (evaluation continues with the next rule, as at submit time).
 */
class NeverThrottled extends ThrottleCounter {
  hit(): ThrottleHit {
    return { allowed: true, count: 0, retry_after_seconds: 1 };
  }
}
/** The throttle counter of re-evaluations (decision mode, amended requests): consults and moves nothing. */
export const NEVER_THROTTLED: ThrottleCounter = new NeverThrottled();

function sameRequirement(a: ApprovalRequirement, b: ApprovalRequirement): boolean {
  const roles = (r: ApprovalRequirement) => [...r.reviewers].sort().join('\n');
  return a.required === b.required && a.timeout_ms === b.timeout_ms && a.on_timeout === b.on_timeout && roles(a) === roles(b);
}

/**
 * Whether `policy` decides `request` as the approval was requested: `require_human` by the same
 * rule with the same requirement (required, reviewer roles, timeout, on_timeout). An evaluation
 * that runs out of its budget (the engine's default) decides nothing: not the same (fail closed).
 */
export function decidesTheSame(policy: CompiledPolicy, request: JobRequest, approval: Pick<Approval, 'rule_id' | 'requirement'>): boolean {
  let outcome;
  try {
    outcome = evaluateSync(policy, request, { counter: NEVER_THROTTLED, now: 0 });
  } catch (error) {
    if (error instanceof EvaluationBudgetExceededError) return false;
    throw error;
  }
  return outcome.decision === 'require_human' && outcome.rule_id === approval.rule_id && sameRequirement(outcome.approval, approval.requirement);
}

/** Whether `policy` still honours an approval bound to another snapshot, in the given mode. */
export function honours(mode: SnapshotMode, policy: ActivePolicyView, request: JobRequest, approval: Pick<Approval, 'policy_snapshot' | 'rule_id' | 'requirement'>): boolean {
  if (policy.snapshot === approval.policy_snapshot) return true;
  if (mode === 'strict') return false;
  return decidesTheSame(policy.compiled, request, approval);
}

/**
 * DESIGN section 3, snapshot mode: `strict` honours an approval only under the snapshot it was
 * requested under; `decision` also under a policy that decides the job the same way. The same
 * judgement drives approve (`snapshot_equivalent`) and drift (`drifted` = not honoured).
 */
@Injectable()
export class ApprovalIntegrity {
  readonly mode: SnapshotMode;

  constructor(@Inject(SIGNOFF_CONFIG) config: SignoffConfig) {
    this.mode = config.snapshotMode;
  }

  honours(policy: ActivePolicyView, request: JobRequest, approval: Pick<Approval, 'policy_snapshot' | 'rule_id' | 'requirement'>): boolean {
    return honours(this.mode, policy, request, approval);
  }
}
