import type { JobRequest } from '@signoff/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.compiler';
import { evaluateSync } from './policy.evaluator';
import { parsePolicy } from './policy.parser';
import type { Condition, ConditionScalar, PolicyBundle } from './policy.types';
import { syntheticJobs, syntheticPolicy } from './testing/synthetic-policy.fixture';
import { ThrottleCounter, type ThrottleHit } from './throttle-counter.port';

/**
 * A deliberately naive second implementation of DESIGN section 7: every rule, in order, every
 * condition interpreted from the bundle data on each call. The compiled engine must agree with it.
 */
function oracle(bundle: PolicyBundle, job: JobRequest, throttleOver: boolean): { decision: string; rule_id: string | null } {
  for (const rule of bundle.rules) {
    const matches = Object.entries(rule.when).every(([key, condition]) => holds(read(job, key), condition, key.startsWith('payload')));
    if (!matches) continue;
    if (rule.decision === 'throttle') {
      if (throttleOver) return { decision: 'throttle', rule_id: rule.id };
      continue;
    }
    return { decision: rule.decision, rule_id: rule.id };
  }
  return { decision: bundle.default, rule_id: null };
}

function read(job: JobRequest, key: string): unknown {
  if (key === 'topic' || key === 'priority' || key === 'tenant' || key === 'submitted_by') return job[key];
  if (key === 'payload' || key.startsWith('payload.')) {
    let value: unknown = job.payload;
    if (key === 'payload') return value ?? undefined;
    for (const segment of key.split('.').slice(1)) {
      if (value === null || typeof value !== 'object' || !Object.keys(value).includes(segment)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
    return value;
  }
  const name = key.startsWith('labels.') ? key.slice(7) : key;
  return Object.keys(job.labels).includes(name) ? job.labels[name] : undefined;
}

function equalsScalar(actual: unknown, expected: ConditionScalar): boolean {
  if (typeof expected === 'string' && expected.includes('*')) {
    if (typeof actual !== 'string') return false;
    const parts = expected.split('*');
    const escaped = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp('^' + escaped.join('[\\s\\S]*') + '$').test(actual);
  }
  return actual === expected;
}

function holds(actual: unknown, condition: Condition, payload: boolean): boolean {
  if (Array.isArray(condition)) return condition.some((value) => equalsScalar(actual, value));
  if (condition !== null && typeof condition === 'object') {
    const number = typeof actual === 'number' ? actual : !payload && typeof actual === 'string' && /^-?(0|[1-9]\d*)(\.\d+)?$/.test(actual) ? Number(actual) : NaN;
    return Object.entries(condition).every(([op, operand]) => {
      switch (op) {
        case 'in':
          return (operand as ConditionScalar[]).some((value) => equalsScalar(actual, value));
        case 'not_in':
          return !(operand as ConditionScalar[]).some((value) => equalsScalar(actual, value));
        case 'gt':
          return number > (operand as number);
        case 'gte':
          return number >= (operand as number);
        case 'lt':
          return number < (operand as number);
        case 'lte':
          return number <= (operand as number);
        case 'matches':
          return typeof actual === 'string' && new RegExp(operand as string).test(actual);
        case 'exists':
          return (actual !== undefined) === operand;
        default:
          throw new Error(`unknown operator ${op}`);
      }
    });
  }
  return equalsScalar(actual, condition as ConditionScalar);
}

class FixedCounter extends ThrottleCounter {
  constructor(private readonly over: boolean) {
    super();
  }
  override hit(_key: string, _windowMs: number, limit: number): ThrottleHit {
    return { allowed: !this.over, count: this.over ? limit + 1 : 1, retry_after_seconds: 30 };
  }
}

// Heavy on purpose (tens of thousands of evaluations of both implementations): generous timeouts so
// a loaded CI machine does not fail them for being slow.
describe('a generated 1,000-rule bundle', { timeout: 60_000 }, () => {
  const policy = syntheticPolicy(1000, 7);
  const compiled = compilePolicy(policy.bundle);

  it('round-trips through YAML and validation', () => {
    expect(policy.bundle.rules).toHaveLength(1000);
    const reparsed = parsePolicy(policy.yaml);
    expect(reparsed.ok && reparsed.bundle).toEqual(policy.bundle);
  });

  it('is indexed: no topic is checked against more than a few dozen rules', () => {
    const sizes = [...policy.topics, 'unknown.topic', 'svc3.unlisted'].map((topic) => compiled.candidates(topic).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20);
    expect(compiled.candidates('unknown.topic').map((rule) => rule.id)).toEqual(
      policy.bundle.rules.filter((rule) => !('topic' in rule.when)).map((rule) => rule.id),
    );
  });

  it('agrees with the naive reference on 20,000 generated jobs', () => {
    const jobs = syntheticJobs(policy, 20_000, 11);
    const decided = new Set<string>();
    for (const job of jobs) {
      const actual = evaluateSync(compiled, job);
      expect({ decision: actual.decision, rule_id: actual.rule_id }).toEqual(oracle(policy.bundle, job, false));
      decided.add(actual.rule_id === null ? `default ${actual.decision}` : actual.decision);
    }
    // The jobs exercise every outcome, so agreement is not agreement on "deny" alone.
    expect([...decided].sort()).toEqual(['allow', 'default deny', 'deny', 'require_human']);
  });

  it('agrees with the naive reference on arbitrary jobs (property)', () => {
    const jobArb = fc.record({
      topic: fc.oneof(fc.constantFrom(...policy.topics), fc.string({ maxLength: 20 }), fc.constantFrom('svc1.x', 'svc49.action9')),
      priority: fc.constantFrom('normal', 'high', 'low'),
      tenant: fc.oneof(fc.constantFrom('acme', 'blocked-0', 'blocked-5', 'blocked-9'), fc.string({ maxLength: 8 })),
      submitted_by: fc.string({ maxLength: 8 }),
      labels: fc.dictionary(fc.constantFrom('env', 'region', 'risk', 'other', 'constructor'), fc.constantFrom('production', 'staging', 'dev', 'eu', 'us', 'high', '')),
      payload: fc.oneof(fc.constant(null), fc.record({ amount: fc.oneof(fc.integer({ min: -10, max: 20_000 }), fc.double(), fc.string()) }), fc.jsonValue({ maxDepth: 2 })),
    });
    fc.assert(
      fc.property(jobArb, (job) => {
        const actual = evaluateSync(compiled, job);
        expect({ decision: actual.decision, rule_id: actual.rule_id }).toEqual(oracle(policy.bundle, job, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('with throttle rules: continues under the limit and stops at the first matching one over it', () => {
    const throttled = syntheticPolicy(1000, 7, { throttle: true });
    const compiledThrottled = compilePolicy(throttled.bundle);
    expect(compiledThrottled.hasThrottleRules).toBe(true);
    const jobs = syntheticJobs(throttled, 5_000, 5);
    let throttledCount = 0;
    for (const job of jobs) {
      const under = evaluateSync(compiledThrottled, job, { counter: new FixedCounter(false), now: 0 });
      expect({ decision: under.decision, rule_id: under.rule_id }).toEqual(oracle(throttled.bundle, job, false));
      const over = evaluateSync(compiledThrottled, job, { counter: new FixedCounter(true), now: 0 });
      expect({ decision: over.decision, rule_id: over.rule_id }).toEqual(oracle(throttled.bundle, job, true));
      if (over.decision === 'throttle') throttledCount++;
    }
    expect(throttledCount).toBeGreaterThan(100);
  });
});
