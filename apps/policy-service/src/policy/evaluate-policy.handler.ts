import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { SignoffError, SubmitJobDto, validateMessage } from '@signoff/contracts';
import { ActivePolicy, SIGNOFF_CONFIG } from '@signoff/core';
import { evaluate, normalizeJobRequest, ThrottleCounter, ThrottleHit } from '@signoff/policy-engine';
import { SignoffConfig } from '@signoff/runtime';
import { policyUnavailable } from '../submit-job/submit-job.handler';
import { DryRunAnswer, EvaluatePolicyQuery } from './evaluate-policy.query';

/** A counter that never counts: a dry run reports throttle rules as within their limit. */
class DryRunThrottleCounter extends ThrottleCounter {
  hit(): ThrottleHit {
    return { allowed: true, count: 0, retry_after_seconds: 1 };
  }
}

/** The dry run: the active policy's decision for a job request, within the evaluation budget; nothing stored or counted. */
@QueryHandler(EvaluatePolicyQuery)
export class EvaluatePolicyHandler implements IQueryHandler<EvaluatePolicyQuery> {
  private readonly dryRun = new DryRunThrottleCounter();

  constructor(
    private readonly policy: ActivePolicy,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
  ) {}

  async execute({ body, principal }: EvaluatePolicyQuery): Promise<DryRunAnswer> {
    const result = validateMessage(SubmitJobDto, body);
    if (!result.ok) throw new SignoffError('invalid_request', 'the job request is invalid', { errors: result.errors });
    const p = this.policy.get();
    const request = normalizeJobRequest({ ...result.value, submitted_by: result.value.submitted_by ?? principal.sub });
    const evaluation = await Promise.resolve()
      .then(() => evaluate(p.compiled, request, { counter: this.dryRun, now: Date.now() }, { budgetMs: this.config.policyEvaluationBudgetMs }))
      .catch((error: unknown) => {
        throw policyUnavailable(error);
      });
    return { decision: evaluation.decision, rule_id: evaluation.rule_id, reason: evaluation.reason, policy_snapshot: p.snapshot };
  }
}
