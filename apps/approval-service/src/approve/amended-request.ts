import type { AmendmentEvaluation, ApproveAmendment, JobFacts } from '@signoff/approvals';
import { AmendedRequestInput, JobRef, SignoffError } from '@signoff/contracts';
import type { ActivePolicyView } from '@signoff/core';
import { EvaluationBudgetExceededError, evaluateSync, jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { NEVER_THROTTLED } from '../shared/approval-integrity';

/**
 * What the active policy decides for an amended request. Throttle rules are neither consulted nor
 * moved (`NEVER_THROTTLED`): an amendment is not a new submission and takes no throttle slot; a
 * throttle rule counts as under its limit and evaluation continues with the next rule. An
 * evaluation that overruns its budget decides nothing: 503 `policy_unavailable` (fail closed).
 */
export function evaluateAmendment(policy: ActivePolicyView, request: ApproveAmendment['request']): AmendmentEvaluation {
  let outcome;
  try {
    outcome = evaluateSync(policy.compiled, request, { counter: NEVER_THROTTLED, now: 0 });
  } catch (error) {
    if (error instanceof EvaluationBudgetExceededError) {
      throw new SignoffError('policy_unavailable', error.message, { reason: 'evaluation_budget_exceeded' });
    }
    throw error;
  }
  switch (outcome.decision) {
    case 'allow':
    case 'deny':
      return { decision: outcome.decision, rule_id: outcome.rule_id, reason: outcome.reason };
    case 'require_human':
      return { decision: 'require_human', rule_id: outcome.rule_id, reason: outcome.reason, requirement: outcome.approval };
    case 'throttle':
      // NEVER_THROTTLED keeps every throttle rule under its limit: a throttle outcome cannot happen.
      throw new Error(`an amendment evaluation came out throttled by ${outcome.rule_id}`);
    default: {
      const _exhaustive: never = outcome;
      throw new Error('unknown policy decision');
    }
  }
}

/**
 * The amended request a reviewer approves (edit before approve): the original's topic, priority,
 * tenant and submitter (repeating one is allowed only unchanged: else 400
 * `amendment_field_fixed`, checked again by the decider), the reviewer's `payload` and/or
 * `labels` (which replace the whole set), normalised as `POST /jobs` normalises a request, with
 * its job hash and the active policy's decision for it.
 */
export function amendmentFor(input: AmendedRequestInput, ref: JobRef, job: JobFacts, policy: ActivePolicyView): ApproveAmendment {
  const original = job.request;
  for (const [field, value] of Object.entries(input.fixed)) {
    const current = field === 'job_id' ? ref.jobId : original[field as Exclude<keyof typeof input.fixed, 'job_id'>];
    if (value !== current) {
      throw new SignoffError('amendment_field_fixed', `an amendment may change payload and labels only, not ${field}`, { field: `amended_request.${field}` });
    }
  }
  const request = normalizeJobRequest({
    topic: original.topic,
    priority: original.priority,
    tenant: original.tenant,
    submitted_by: original.submitted_by,
    labels: input.changes.labels ?? original.labels,
    payload: Object.prototype.hasOwnProperty.call(input.changes, 'payload') ? input.changes.payload : original.payload,
  });
  return { request, job_hash: jobHash(request), evaluation: evaluateAmendment(policy, request) };
}
