/** Evaluation could not be completed (a programming or configuration error, never a policy outcome). */
export class PolicyEvaluationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyEvaluationError';
  }
}

/**
 * The evaluation ran out of its budget: a synchronous stretch took longer than `budgetMs`, or a
 * `matches` / glob condition met a value longer than it may read (`MAX_MATCH_WORK`). Never a
 * policy outcome: callers fail closed (the policy service answers 503 `policy_unavailable` and
 * stores nothing).
 */
export class EvaluationBudgetExceededError extends PolicyEvaluationError {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationBudgetExceededError';
  }
}

/** How much one evaluation may take. */
export interface EvaluationLimits {
  /**
   * Milliseconds one synchronous stretch of an evaluation may hold the thread (the whole
   * evaluation, unless a throttle counter answers asynchronously: each stretch between two awaits
   * gets this budget; the wall-clock timeout around the awaits is the caller's). Default 100.
   */
  readonly budgetMs?: number;
  /** A monotonic clock in milliseconds (default `performance.now`), for tests. */
  readonly clock?: () => number;
}

/** `EvaluationLimits.budgetMs` when none is given. */
export const DEFAULT_EVALUATION_BUDGET_MS = 100;
/**
 * Work units between two readings of the clock: a rule tried is 1 unit, a `matches` test
 * (value length) x (program size), a glob test the value's length. Cheap bundles never read it.
 */
export const WORK_UNITS_PER_CLOCK_CHECK = 8192;

const defaultClock = (): number => performance.now();

/**
 * The meter of the evaluation stretch in progress. Evaluation is synchronous between awaits and
 * never re-entered from a condition, so one meter serves every evaluation; keeping it here (not in
 * an object per call) keeps evaluation free of allocation. The deadline starts at the first
 * reading of the clock, after `WORK_UNITS_PER_CLOCK_CHECK` units: cheap work before it is bounded
 * by that count.
 */
class WorkMeter {
  private work = 0;
  private nextCheck = WORK_UNITS_PER_CLOCK_CHECK;
  private deadline = Number.NaN;
  private budgetMs = DEFAULT_EVALUATION_BUDGET_MS;
  private clock: () => number = defaultClock;

  /** Starts a stretch. */
  start(limits: EvaluationLimits | undefined): void {
    this.work = 0;
    this.nextCheck = WORK_UNITS_PER_CLOCK_CHECK;
    this.deadline = Number.NaN;
    this.budgetMs = limits?.budgetMs ?? DEFAULT_EVALUATION_BUDGET_MS;
    this.clock = limits?.clock ?? defaultClock;
  }

  /** Counts `units` of work about to be done; throws when the stretch is past its deadline. */
  spend(units: number): void {
    this.work += units;
    if (this.work < this.nextCheck) return;
    this.nextCheck = this.work + WORK_UNITS_PER_CLOCK_CHECK;
    const now = this.clock();
    if (Number.isNaN(this.deadline)) this.deadline = now + this.budgetMs;
    else if (now > this.deadline) {
      throw new EvaluationBudgetExceededError(`policy evaluation exceeded its budget of ${this.budgetMs} ms`);
    }
  }
}

/** @internal The one meter (see `WorkMeter`); the compiler's matchers and the evaluator use it. */
export const meter = new WorkMeter();
