import type { JobRequest } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { EvaluationBudgetExceededError, WORK_UNITS_PER_CLOCK_CHECK } from './evaluation-budget';
import { normalizeJobRequest, type JobRequestInput } from './integrity.hash';
import { compilePolicy, type CompiledPolicy } from './policy.compiler';
import { evaluate, evaluateSync } from './policy.evaluator';
import { parsePolicy } from './policy.parser';
import { MAX_MATCH_WORK } from './policy-regex';
import { ThrottleCounter, type ThrottleHit } from './throttle-counter.port';
import { abString } from '../../../test/support/cpu';

function compile(text: string): CompiledPolicy {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return compilePolicy(parsed.bundle);
}

function job(input: Partial<JobRequestInput> & { topic: string }): JobRequest {
  return normalizeJobRequest({ submitted_by: 'agent-1', ...input });
}

/** `count` rules, each a `matches` condition on payload.s (the budget tests' expensive bundle). */
function regexRules(count: number, pattern: string): string {
  const rules = Array.from({ length: count }, (_, i) => `  - {id: r${i}, when: {payload.s: {matches: ${JSON.stringify(pattern)}}}, decision: deny}`);
  return `version: v1\ndefault: allow\nrules:\n${rules.join('\n')}\n`;
}

class SlowCounter extends ThrottleCounter {
  hit(): Promise<ThrottleHit> {
    return new Promise((resolve) => setTimeout(() => resolve({ allowed: true, count: 1, retry_after_seconds: 1 }), 5));
  }
}

describe('evaluation budget: matches runs on RE2, and no evaluation holds the thread past its budget', () => {
  it('evaluates the payload that stalled the process (^(.*a){8}$, 57 characters) in milliseconds', () => {
    // V8's backtracking engine took 3-10 s at 45 characters and ~45 s at 57; RE2 is linear.
    const policy = compile(regexRules(1, '^(.*a){8}$'));
    const started = performance.now();
    expect(evaluateSync(policy, job({ topic: 't', payload: { s: `${'a'.repeat(44)}b` } })).decision).toBe('allow');
    expect(evaluateSync(policy, job({ topic: 't', payload: { s: `${'a'.repeat(56)}b` } })).decision).toBe('allow');
    expect(evaluateSync(policy, job({ topic: 't', payload: { s: 'a'.repeat(57) } })).decision).toBe('deny');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('fails closed on a value longer than a matches condition may read, instead of calling it a mismatch', () => {
    const policy = compile(regexRules(1, '^(.*a){8}$'));
    const tooLong = 'a'.repeat(Math.floor(MAX_MATCH_WORK / 44) + 1); // the pattern's program size is 44
    expect(() => evaluateSync(policy, job({ topic: 't', payload: { s: tooLong } }))).toThrow(EvaluationBudgetExceededError);
    expect(() => evaluateSync(policy, job({ topic: 't', payload: { s: tooLong } }))).toThrow(/payload\.s is 5958 characters long; the policy's matches condition on it reads at most 5957/);
  });

  it('fails closed on a value longer than a glob may read, even under not_in', () => {
    const policy = compile('version: v1\ndefault: allow\nrules:\n  - {id: not-ok, when: {payload.s: {not_in: ["*ok*"]}}, decision: deny}\n');
    expect(evaluateSync(policy, job({ topic: 't', payload: { s: 'this is ok' } })).decision).toBe('allow');
    expect(evaluateSync(policy, job({ topic: 't', payload: { s: 'x'.repeat(MAX_MATCH_WORK) } })).decision).toBe('deny');
    expect(() => evaluateSync(policy, job({ topic: 't', payload: { s: 'x'.repeat(MAX_MATCH_WORK + 1) } }))).toThrow(EvaluationBudgetExceededError);
  });

  it('cuts an evaluation at its deadline, checked as work accumulates (fake clock)', () => {
    const policy = compile(regexRules(200, '^z'));
    let now = 0;
    let readings = 0;
    const clock = () => {
      readings += 1;
      return (now += 10);
    };
    const slow = job({ topic: 't', payload: { s: 'y'.repeat(2000) } });
    expect(() => evaluateSync(policy, slow, undefined, { budgetMs: 25, clock })).toThrow(EvaluationBudgetExceededError);
    // First reading starts the deadline (10 + 25 = 35); the fourth (40) is past it.
    expect(readings).toBe(4);
    // With enough budget the same evaluation completes: no rule matches, the default allows.
    expect(evaluateSync(policy, slow, undefined, { budgetMs: 1e9, clock }).decision).toBe('allow');
  });

  it('cuts a bundle of costly patterns with the real clock: 503-worthy in well under a second, not tens of seconds', () => {
    // 400 rules, each an RE2 test near its work bound (~10-40 ms each on the NFA): seconds uncut.
    const policy = compile(regexRules(400, 'a[ab]{200}c'));
    const value = `c${abString(1200)}`;
    const started = performance.now();
    expect(() => evaluateSync(policy, job({ topic: 't', payload: { s: value } }), undefined, { budgetMs: 50 })).toThrow(EvaluationBudgetExceededError);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('never reads the clock for a cheap bundle', () => {
    const policy = compile('version: v1\nrules:\n  - {id: a, when: {topic: knowledge.read}, decision: allow}\n  - {id: b, when: {topic: "finance.*", env: production}, decision: require_human}\n');
    let readings = 0;
    const clock = () => ++readings;
    for (let i = 0; i < 10_000; i++) evaluateSync(policy, job({ topic: i % 2 ? 'knowledge.read' : 'finance.x', labels: { env: 'production' } }), undefined, { clock });
    expect(readings).toBe(0);
    expect(WORK_UNITS_PER_CLOCK_CHECK).toBeGreaterThan(1000);
  });

  it('gives the stretch after an asynchronous throttle counter a budget of its own, and still cuts it', async () => {
    const rules = regexRules(200, '^z').replace('rules:\n', 'rules:\n  - {id: throttled, decision: throttle, throttle: {limit: 5, per: 1m}}\n');
    const policy = compile(rules);
    let now = 0;
    const clock = () => (now += 10);
    const pending = evaluate(policy, job({ topic: 't', payload: { s: 'y'.repeat(2000) } }), { counter: new SlowCounter(), now: 0 }, { budgetMs: 25, clock });
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toBeInstanceOf(EvaluationBudgetExceededError);
    const cheap = evaluate(policy, job({ topic: 't', payload: { s: 'zz' } }), { counter: new SlowCounter(), now: 0 }, { budgetMs: 25, clock });
    await expect(cheap).resolves.toMatchObject({ decision: 'deny', rule_id: 'r0' });
  });
});
