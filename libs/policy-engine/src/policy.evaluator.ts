import type { JobRequest } from '@signoff/contracts';
import type { CompiledPolicy, CompiledRule } from './policy.compiler';
import type { Evaluation, ThrottleEvaluation } from './policy.types';
import type { ThrottleCounter, ThrottleHit } from './throttle-counter.port';
import { type EvaluationLimits, meter, PolicyEvaluationError } from './evaluation-budget';

export { PolicyEvaluationError };

/** What throttle rules need at evaluation time: the shared counters and the current instant. */
export interface ThrottleContext {
  readonly counter: ThrottleCounter;
  /**
   * Epoch milliseconds of the decision (the caller's clock: no decision depends on a clock the
   * engine reads; the budget's monotonic clock only decides whether there is an outcome at all).
   */
  readonly now: number;
}

/**
 * Evaluates a job against a compiled bundle (DESIGN section 7): the rules of the job's topic are
 * tried in bundle order and the first one whose conditions all hold decides; when none does, the
 * bundle's default decides (`rule_id` null).
 *
 * A matching throttle rule counts the job through `throttle.counter`: over the limit the outcome is
 * `throttle` with `retry_after_seconds`; within it evaluation continues with the next rule.
 *
 * Synchronous (and free of allocation: outcomes are precomputed and frozen) unless a throttle
 * counter answers with a promise; then the result is a promise. `await` works either way.
 * Throws `PolicyEvaluationError` when a throttle rule matches and no `throttle` context was given.
 *
 * Budgeted (`limits`): every rule tried and every glob and `matches` test is metered, and a
 * synchronous stretch still running `budgetMs` (default 100) after the meter first read the clock,
 * or a glob / `matches` value longer than the condition may read, throws
 * `EvaluationBudgetExceededError` (fail closed: no outcome).
 */
export function evaluate(policy: CompiledPolicy, job: JobRequest, throttle?: ThrottleContext, limits?: EvaluationLimits): Evaluation | Promise<Evaluation> {
  meter.start(limits);
  return run(policy, job, policy.candidates(job.topic), 0, throttle, limits);
}

/**
 * `evaluate` for callers that need a plain value: bundles without throttle rules, or a counter
 * that answers synchronously (such as `InMemoryThrottleCounter`). Throws `PolicyEvaluationError`
 * if the counter answered with a promise.
 */
export function evaluateSync(policy: CompiledPolicy, job: JobRequest, throttle?: ThrottleContext, limits?: EvaluationLimits): Evaluation {
  const result = evaluate(policy, job, throttle, limits);
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new PolicyEvaluationError('the throttle counter answered asynchronously; use evaluate()');
  }
  return result;
}

function run(
  policy: CompiledPolicy,
  job: JobRequest,
  candidates: readonly CompiledRule[],
  from: number,
  throttle: ThrottleContext | undefined,
  limits: EvaluationLimits | undefined,
): Evaluation | Promise<Evaluation> {
  next: for (let i = from; i < candidates.length; i++) {
    const rule = candidates[i];
    meter.spend(1);
    const matchers = rule.matchers;
    for (let j = 0; j < matchers.length; j++) if (!matchers[j](job)) continue next;
    if (rule.result !== null) return rule.result;

    const spec = rule.throttle;
    if (spec === null) throw new PolicyEvaluationError(`rule ${rule.id} has neither an outcome nor a throttle`);
    if (throttle === undefined) {
      throw new PolicyEvaluationError(`rule ${rule.id} is a throttle rule and no throttle counter was given`);
    }
    const hit = throttle.counter.hit(spec.keyOf(job), spec.windowMs, spec.limit, throttle.now);
    if (isThenable(hit)) {
      // After the await, a new synchronous stretch with a budget of its own.
      return Promise.resolve(hit).then((answer) => {
        if (!answer.allowed) return throttled(rule, answer);
        meter.start(limits);
        return run(policy, job, candidates, i + 1, throttle, limits);
      });
    }
    if (!hit.allowed) return throttled(rule, hit);
  }
  return policy.defaultResult;
}

function throttled(rule: CompiledRule, hit: ThrottleHit): ThrottleEvaluation {
  const spec = rule.throttle;
  return {
    decision: 'throttle',
    rule_id: rule.id,
    reason: `more than ${spec?.limit} per ${spec?.per} by ${spec?.keyName} (rule ${rule.id})`,
    retry_after_seconds: Math.max(1, Math.ceil(hit.retry_after_seconds)),
  };
}

function isThenable(value: ThrottleHit | Promise<ThrottleHit>): value is Promise<ThrottleHit> {
  return typeof (value as { then?: unknown }).then === 'function';
}
