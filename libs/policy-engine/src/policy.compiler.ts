import { type ApprovalRequirement, type EscalationStep, isGlob, type JobRequest } from '@signoff/contracts';
import { type ConditionSubject, parseSubject, policyGlob } from './condition-subject.util';
import { parseDuration } from './duration.util';
import { EvaluationBudgetExceededError, meter } from './evaluation-budget';
import { policySnapshot } from './integrity.hash';
import { compilePolicyRegex, MAX_MATCH_WORK } from './policy-regex';
import type { Condition, ConditionScalar, DefaultDecision, Evaluation, OperatorCondition, PolicyBundle, PolicyRule } from './policy.types';

/** A compiled condition: does this job satisfy it? */
type Matcher = (job: JobRequest) => boolean;
/** A compiled test of one value read from the job (undefined = the field is absent). */
type ValueTest = (value: unknown) => boolean;
/** Reads one field from the job (undefined = absent). */
type Getter = (job: JobRequest) => unknown;

/** A throttle rule's counter settings, compiled. */
export interface CompiledThrottle {
  readonly limit: number;
  readonly windowMs: number;
  /** The spelled-out window, for reasons (`1m`). */
  readonly per: string;
  /** What the counter is keyed by, for reasons (`tenant`, `labels.customer`, `rule`). */
  readonly keyName: string;
  /** The opaque counter key of a job. */
  readonly keyOf: (job: JobRequest) => string;
}

/** One rule, compiled. The topic condition is resolved by the index and not repeated here. */
export interface CompiledRule {
  /** Position in the bundle: first match wins, so candidates are kept in this order. */
  readonly index: number;
  readonly id: string;
  /** Every non-topic condition; all must hold. */
  readonly matchers: readonly Matcher[];
  /** The precomputed (frozen) outcome when the rule matches; null for throttle rules. */
  readonly result: Evaluation | null;
  /** Set exactly for throttle rules. */
  readonly throttle: CompiledThrottle | null;
}

interface DynamicRule {
  readonly rule: CompiledRule;
  /** Null: the rule has no topic condition and applies to every topic. */
  readonly topicTest: ValueTest | null;
}

/** Options of `compilePolicy`. */
export interface CompilePolicyOptions {
  /**
   * How many distinct topics keep a memoized candidate list (default 10,000). The memo is cleared
   * when full, so a flood of random topics costs time, never unbounded memory.
   */
  readonly topicCacheSize?: number;
}

const EMPTY: readonly CompiledRule[] = Object.freeze([]);

/**
 * A bundle compiled for evaluation. Rules are indexed by topic: rules whose topic condition is a
 * literal (or a list of literals) sit in a Map under each topic; every other rule (glob or operator
 * on the topic, or no topic condition) is tested against a topic once and the merged, rule-ordered
 * candidate list is memoized per topic. Evaluating a job only walks its topic's candidates.
 */
export class CompiledPolicy {
  /** `policy_snapshot` of the bundle. */
  readonly snapshot: string;
  /** Whether any rule is a throttle rule (evaluation may then consult a counter). */
  readonly hasThrottleRules: boolean;
  /** The outcome when no rule matches. */
  readonly defaultResult: Evaluation;
  private readonly literal: Map<string, readonly CompiledRule[]>;
  private readonly dynamic: readonly DynamicRule[];
  private readonly memo = new Map<string, readonly CompiledRule[]>();
  private readonly memoLimit: number;

  /** @internal Use `compilePolicy`. */
  constructor(
    readonly bundle: PolicyBundle,
    rules: readonly { rule: CompiledRule; literalTopics: readonly string[] | null; topicTest: ValueTest | null }[],
    options: CompilePolicyOptions,
  ) {
    this.snapshot = policySnapshot(bundle);
    this.hasThrottleRules = rules.some(({ rule }) => rule.throttle !== null);
    this.defaultResult = Object.freeze(defaultEvaluation(bundle.default));
    this.memoLimit = Math.max(0, options.topicCacheSize ?? 10_000);
    const literal = new Map<string, CompiledRule[]>();
    const dynamic: DynamicRule[] = [];
    for (const { rule, literalTopics, topicTest } of rules) {
      if (literalTopics === null) {
        dynamic.push({ rule, topicTest });
        continue;
      }
      for (const topic of literalTopics) {
        const list = literal.get(topic);
        if (list === undefined) literal.set(topic, [rule]);
        else if (list[list.length - 1] !== rule) list.push(rule);
      }
    }
    for (const list of literal.values()) Object.freeze(list);
    this.literal = literal;
    this.dynamic = dynamic;
  }

  /** Number of rules in the bundle. */
  get ruleCount(): number {
    return this.bundle.rules.length;
  }

  /**
   * The rules a job of `topic` is checked against, in bundle order: every rule whose topic
   * condition holds for `topic` (or that has none). Memoized per topic.
   */
  candidates(topic: string): readonly CompiledRule[] {
    if (this.dynamic.length === 0) return this.literal.get(topic) ?? EMPTY;
    const memoized = this.memo.get(topic);
    if (memoized !== undefined) return memoized;
    const merged = this.merge(this.literal.get(topic) ?? EMPTY, topic);
    if (this.memoLimit > 0) {
      if (this.memo.size >= this.memoLimit) this.memo.clear();
      this.memo.set(topic, merged);
    }
    return merged;
  }

  private merge(literal: readonly CompiledRule[], topic: string): readonly CompiledRule[] {
    const out: CompiledRule[] = [];
    let i = 0;
    for (const { rule, topicTest } of this.dynamic) {
      if (topicTest !== null && !topicTest(topic)) continue;
      while (i < literal.length && literal[i].index < rule.index) out.push(literal[i++]);
      out.push(rule);
    }
    while (i < literal.length) out.push(literal[i++]);
    return out.length === 0 ? EMPTY : Object.freeze(out);
  }
}

/**
 * Compiles a parsed bundle (from `parsePolicy`) once: globs are compiled (linear-time matching),
 * lists become Sets, `matches` patterns are compiled for RE2, payload paths are split, outcomes
 * are precomputed and frozen, and rules are indexed by topic. Glob and `matches` tests are charged
 * to the evaluation's budget (`EvaluationLimits`). The bundle is trusted to be valid; an invalid one throws.
 */
export function compilePolicy(bundle: PolicyBundle, options: CompilePolicyOptions = {}): CompiledPolicy {
  const rules = bundle.rules.map((rule, index) => compileRule(rule, index));
  return new CompiledPolicy(bundle, rules, options);
}

function compileRule(rule: PolicyRule, index: number): { rule: CompiledRule; literalTopics: readonly string[] | null; topicTest: ValueTest | null } {
  const matchers: Matcher[] = [];
  let literalTopics: readonly string[] | null = null;
  let topicTest: ValueTest | null = null;
  let hasTopic = false;
  for (const [key, condition] of Object.entries(rule.when)) {
    const subject = parseSubject(key);
    if ('error' in subject) throw new Error(`rule ${rule.id}: ${subject.error}`);
    if (subject.kind === 'field' && subject.field === 'topic') {
      hasTopic = true;
      literalTopics = literalStrings(condition);
      topicTest = literalTopics === null ? compileValueTest(condition, toNumberFromString, key) : null;
      continue;
    }
    matchers.push(compileMatcher(subject, condition, key));
  }
  if (!hasTopic) literalTopics = null;
  const throttle = rule.throttle ? compileThrottle(rule) : null;
  const compiled: CompiledRule = Object.freeze({
    index,
    id: rule.id,
    matchers: Object.freeze(matchers),
    result: throttle === null ? Object.freeze(ruleEvaluation(rule)) : null,
    throttle,
  });
  return { rule: compiled, literalTopics, topicTest };
}

/** The literal strings of a topic condition that the Map index can hold, or null. */
function literalStrings(condition: Condition): readonly string[] | null {
  const values = Array.isArray(condition)
    ? condition
    : isOperator(condition) && Object.keys(condition).length === 1 && condition.in
      ? condition.in
      : [condition as ConditionScalar];
  if (!values.every((value): value is string => typeof value === 'string' && !isGlob(value))) return null;
  return [...new Set(values)];
}

function compileMatcher(subject: ConditionSubject, condition: Condition, key: string): Matcher {
  // The common shapes get a closure without a getter call (labels are strings, so a prototype
  // member such as `constructor` can never equal them or be in their Set).
  if (subject.kind === 'label' && typeof condition === 'string' && !isGlob(condition)) {
    const name = subject.name;
    return (job) => job.labels?.[name] === condition;
  }
  if (subject.kind === 'label' && Array.isArray(condition) && condition.every((value) => typeof value === 'string' && !isGlob(value))) {
    const name = subject.name;
    const set = new Set<unknown>(condition);
    return (job) => set.has(job.labels?.[name]);
  }
  if (subject.kind === 'field' && typeof condition === 'string' && !isGlob(condition)) {
    switch (subject.field) {
      case 'priority':
        return (job) => job.priority === condition;
      case 'tenant':
        return (job) => job.tenant === condition;
      case 'submitted_by':
        return (job) => job.submitted_by === condition;
      case 'topic':
        return (job) => job.topic === condition;
      default: {
        const unreachable: never = subject.field;
        throw new Error(`unhandled field ${String(unreachable)}`);
      }
    }
  }
  const get = compileGetter(subject);
  // Labels and the job's string fields hold numbers as text; payload values have JSON types.
  const test = compileValueTest(condition, subject.kind === 'payload' ? toNumberStrict : toNumberFromString, key);
  return (job) => test(get(job));
}

function compileGetter(subject: ConditionSubject): Getter {
  switch (subject.kind) {
    case 'field':
      switch (subject.field) {
        case 'topic':
          return (job) => job.topic;
        case 'priority':
          return (job) => job.priority;
        case 'tenant':
          return (job) => job.tenant;
        case 'submitted_by':
          return (job) => job.submitted_by;
        default: {
          const unreachable: never = subject.field;
          throw new Error(`unhandled field ${String(unreachable)}`);
        }
      }
    case 'label': {
      const name = subject.name;
      return (job) => {
        const value: unknown = job.labels?.[name];
        return typeof value === 'string' ? value : undefined;
      };
    }
    case 'payload':
      return payloadGetter(subject.path);
    default: {
      const unreachable: never = subject;
      throw new Error(`unhandled subject ${JSON.stringify(unreachable)}`);
    }
  }
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Own properties only, so `payload.constructor` or `payload.__proto__` never reach a prototype. */
function payloadGetter(path: readonly string[]): Getter {
  if (path.length === 0) return (job) => (job.payload === null ? undefined : job.payload);
  if (path.length === 1) {
    const [a] = path;
    return (job) => {
      const root: unknown = job.payload;
      return root !== null && typeof root === 'object' && hasOwn.call(root, a) ? (root as Record<string, unknown>)[a] : undefined;
    };
  }
  return (job) => {
    let current: unknown = job.payload;
    for (let i = 0; i < path.length; i++) {
      if (current === null || typeof current !== 'object' || !hasOwn.call(current, path[i])) return undefined;
      current = (current as Record<string, unknown>)[path[i]];
    }
    return current;
  };
}

function isOperator(condition: Condition): condition is OperatorCondition {
  return condition !== null && typeof condition === 'object' && !Array.isArray(condition);
}

function compileValueTest(condition: Condition, toNumber: (value: unknown) => number, key: string): ValueTest {
  if (Array.isArray(condition)) return compileAnyOf(condition, key);
  if (isOperator(condition)) return compileOperators(condition, toNumber, key);
  return compileScalar(condition as ConditionScalar, key);
}

/**
 * Bounded work per condition: a glob or regex test is charged to the evaluation's meter before it
 * runs (`perCharacter` units per character of the value), and a value longer than `maxLength`
 * fails the evaluation closed rather than being matched (or, worse, counted as not matching).
 */
function charge(key: string, what: string, length: number, perCharacter: number, maxLength: number): void {
  if (length > maxLength) {
    throw new EvaluationBudgetExceededError(`${key} is ${length} characters long; the policy's ${what} condition on it reads at most ${maxLength}`);
  }
  meter.spend(length * perCharacter);
}

/** A compiled glob as a test of strings, charged to the meter (linear in the value). */
function globTest(pattern: string, key: string): (actual: string) => boolean {
  const glob = policyGlob(pattern);
  return (actual) => {
    charge(key, 'glob', actual.length, 1, MAX_MATCH_WORK);
    return glob.test(actual);
  };
}

function compileScalar(value: ConditionScalar, key: string): ValueTest {
  if (typeof value === 'string' && isGlob(value)) {
    const test = globTest(value, key);
    return (actual) => typeof actual === 'string' && test(actual);
  }
  return (actual) => actual === value;
}

function compileAnyOf(values: readonly ConditionScalar[], key: string): ValueTest {
  const literals = new Set<unknown>();
  const globs: ((actual: string) => boolean)[] = [];
  for (const value of values) {
    if (typeof value === 'string' && isGlob(value)) globs.push(globTest(value, key));
    else literals.add(value);
  }
  if (globs.length === 0) {
    if (literals.size === 1) {
      const [only] = literals;
      return (actual) => actual === only;
    }
    return (actual) => literals.has(actual);
  }
  return (actual) => {
    if (literals.has(actual)) return true;
    if (typeof actual !== 'string') return false;
    for (let i = 0; i < globs.length; i++) if (globs[i](actual)) return true;
    return false;
  };
}

const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/** A number, or a string holding a plain decimal literal; NaN for anything else (compares false). */
function toNumberFromString(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
  return Number.NaN;
}

/** A number; NaN for anything else, strings included (compares false). */
function toNumberStrict(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

function compileOperators(condition: OperatorCondition, toNumber: (value: unknown) => number, key: string): ValueTest {
  const tests: ValueTest[] = [];
  for (const op of Object.keys(condition) as (keyof OperatorCondition)[]) {
    switch (op) {
      case 'in':
        tests.push(compileAnyOf(condition.in ?? [], key));
        break;
      case 'not_in': {
        const inList = compileAnyOf(condition.not_in ?? [], key);
        tests.push((actual) => !inList(actual));
        break;
      }
      case 'gt': {
        const bound = condition.gt as number;
        tests.push((actual) => toNumber(actual) > bound);
        break;
      }
      case 'gte': {
        const bound = condition.gte as number;
        tests.push((actual) => toNumber(actual) >= bound);
        break;
      }
      case 'lt': {
        const bound = condition.lt as number;
        tests.push((actual) => toNumber(actual) < bound);
        break;
      }
      case 'lte': {
        const bound = condition.lte as number;
        tests.push((actual) => toNumber(actual) <= bound);
        break;
      }
      case 'matches': {
        const regex = compilePolicyRegex(condition.matches as string);
        if ('error' in regex) throw new Error(`${key}: ${regex.error}`);
        const { programSize, maxInputLength } = regex;
        tests.push((actual) => {
          if (typeof actual !== 'string') return false;
          charge(key, 'matches', actual.length, programSize, maxInputLength);
          return regex.test(actual);
        });
        break;
      }
      case 'exists': {
        const wanted = condition.exists as boolean;
        tests.push((actual) => (actual !== undefined) === wanted);
        break;
      }
      default: {
        const unreachable: never = op;
        throw new Error(`unknown operator ${String(unreachable)}`);
      }
    }
  }
  if (tests.length === 1) return tests[0];
  return (actual) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](actual)) return false;
    return true;
  };
}

function compileThrottle(rule: PolicyRule): CompiledThrottle {
  const spec = rule.throttle;
  const windowMs = spec ? parseDuration(spec.per) : null;
  if (!spec || windowMs === null) throw new Error(`rule ${rule.id}: invalid throttle`);
  const id = rule.id;
  const key = spec.key;
  let keyOf: (job: JobRequest) => string;
  if (key === undefined) {
    const constant = JSON.stringify([id]);
    keyOf = () => constant;
  } else if (key.startsWith('labels.')) {
    const name = key.slice('labels.'.length);
    keyOf = (job) => {
      const value: unknown = job.labels?.[name];
      return JSON.stringify([id, key, typeof value === 'string' ? value : null]);
    };
  } else if (key === 'topic' || key === 'tenant' || key === 'submitted_by') {
    keyOf = (job) => JSON.stringify([id, key, job[key] ?? null]);
  } else {
    throw new Error(`rule ${rule.id}: invalid throttle key ${key}`);
  }
  return Object.freeze({ limit: spec.limit, windowMs, per: spec.per, keyName: key ?? 'rule', keyOf });
}

function reasonOf(rule: PolicyRule): string {
  return rule.description ? `${rule.description} (rule ${rule.id})` : `matched rule ${rule.id}`;
}

function ruleEvaluation(rule: PolicyRule): Evaluation {
  const decision = rule.decision;
  switch (decision) {
    case 'allow':
    case 'deny':
      return { decision, rule_id: rule.id, reason: reasonOf(rule) };
    case 'require_human':
      return { decision, rule_id: rule.id, reason: reasonOf(rule), approval: approvalRequirement(rule) };
    case 'throttle':
      throw new Error('throttle rules have no fixed outcome');
    default: {
      const unreachable: never = decision;
      throw new Error(`unknown decision ${String(unreachable)}`);
    }
  }
}

function approvalRequirement(rule: PolicyRule): ApprovalRequirement {
  const spec = rule.approval ?? { required: 1, reviewers: [], timeout: '1d', on_timeout: 'reject' as const };
  const timeout = parseDuration(spec.timeout);
  if (timeout === null) throw new Error(`rule ${rule.id}: invalid approval timeout ${spec.timeout}`);
  const escalate = spec.escalate?.map((step): EscalationStep => {
    const after = parseDuration(step.after);
    if (after === null) throw new Error(`rule ${rule.id}: invalid escalation delay ${step.after}`);
    return Object.freeze({
      after_ms: after,
      ...(step.notify ? { notify: Object.freeze([...step.notify]) } : {}),
      ...(step.add_reviewers ? { add_reviewers: Object.freeze([...step.add_reviewers]) } : {}),
    });
  });
  // `notify` and `escalate` only when the rule states them: requirements without them read as before.
  return Object.freeze({
    required: spec.required,
    reviewers: Object.freeze([...spec.reviewers]),
    timeout_ms: timeout,
    on_timeout: spec.on_timeout,
    ...(spec.notify ? { notify: Object.freeze([...spec.notify]) } : {}),
    ...(escalate && escalate.length > 0 ? { escalate: Object.freeze(escalate) } : {}),
  });
}

function defaultEvaluation(decision: DefaultDecision): Evaluation {
  return { decision, rule_id: null, reason: `no rule matched; default ${decision}` };
}
