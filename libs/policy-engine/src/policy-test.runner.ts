import type { ApprovalRequirement, JobRequest, PolicyDecision } from '@signoff/contracts';
import type { Node } from 'yaml';
import { parseDuration } from './duration.util';
import { canonicalJson, normalizeJobRequest } from './integrity.hash';
import { CompiledPolicy, compilePolicy } from './policy.compiler';
import { evaluateSync } from './policy.evaluator';
import { POLICY_DECISIONS, type PolicyBundle, type PolicyError, type Evaluation } from './policy.types';
import { ThrottleCounter, type ThrottleHit } from './throttle-counter.port';
import { entriesByKey, join, type MapEntry, setOwn, YamlSource } from './yaml-source.reader';

/** `submitted_by` of a test job that names none. */
export const POLICY_TEST_SUBMITTER = 'policy-test';

/** What a policy test expects. `approval` fields, when given, must equal the actual requirement's. */
export interface PolicyTestExpectation {
  readonly decision: PolicyDecision;
  readonly rule_id: string | null;
  readonly approval?: Partial<ApprovalRequirement>;
}

/** One case of a `*.test.yaml` file. */
export interface PolicyTestCase {
  readonly name: string;
  /** The job, normalized (defaults applied; `submitted_by` defaults to `policy-test`). */
  readonly job: JobRequest;
  readonly expect: PolicyTestExpectation;
  /** Throttle rules whose counters are simulated as over their limit for this case; all others are under it. */
  readonly throttled: readonly string[];
  /** Line of the case in its file, when parsed from one. */
  readonly line?: number;
}

/** An evaluation reduced to what tests and diffs compare. */
export interface PolicyOutcome {
  readonly decision: PolicyDecision;
  readonly rule_id: string | null;
  readonly approval?: ApprovalRequirement;
}

/** The result of one case. */
export interface PolicyTestResult {
  readonly name: string;
  readonly line?: number;
  readonly passed: boolean;
  readonly expected: PolicyTestExpectation;
  readonly actual: PolicyOutcome;
  /** Why it failed (empty when it passed). */
  readonly failures: readonly string[];
}

/** The result of a test run. */
export interface PolicyTestReport {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly results: readonly PolicyTestResult[];
}

/** The result of parsing a test file. */
export type PolicyTestParseResult =
  | { readonly ok: true; readonly cases: readonly PolicyTestCase[] }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

const CASE_KEYS: ReadonlySet<string> = new Set(['name', 'job', 'expect', 'throttled']);
const JOB_KEYS: ReadonlySet<string> = new Set(['topic', 'priority', 'tenant', 'submitted_by', 'labels', 'payload']);
const EXPECT_KEYS: ReadonlySet<string> = new Set(['decision', 'rule_id', 'approval']);
const EXPECT_APPROVAL_KEYS: ReadonlySet<string> = new Set(['required', 'reviewers', 'timeout', 'on_timeout']);

/**
 * Parses a policy test file: a YAML (or JSON) list of cases
 * `{name, job: {topic, priority?, tenant?, submitted_by?, labels?, payload?}, expect: {decision,
 * rule_id, approval?: {required?, reviewers?, timeout?, on_timeout?}}, throttled?: [rule ids]}`.
 * Every error carries line and column, as for bundles.
 */
export function parsePolicyTests(text: string): PolicyTestParseResult {
  const src = new YamlSource(text);
  if (src.refused) return { ok: false, errors: src.sortedErrors() };
  const items = src.sequence(src.root, '', 'a policy test file (a list of cases)');
  const cases: PolicyTestCase[] = [];
  items?.forEach((item, index) => {
    const testCase = readCase(src, item, `[${index}]`);
    if (testCase) cases.push(testCase);
  });
  if (src.errors.length > 0 || items === null) return { ok: false, errors: src.sortedErrors() };
  return { ok: true, cases };
}

function readCase(src: YamlSource, node: Node, path: string): PolicyTestCase | undefined {
  const entries = src.mapping(node, path, 'a test case', CASE_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  const errorsBefore = src.errors.length;
  const line = src.position(node).line;

  const name = required(src, get('name'), path, 'name', node, (entry) => src.string(entry.value, join(path, 'name'), 'name'));
  const job = required(src, get('job'), path, 'job', node, (entry) => readJob(src, entry.value, join(path, 'job')));
  const expect = required(src, get('expect'), path, 'expect', node, (entry) => readExpect(src, entry.value, join(path, 'expect')));
  const throttled: string[] = [];
  const throttledEntry = get('throttled');
  if (throttledEntry) {
    src.sequence(throttledEntry.value, join(path, 'throttled'), 'throttled')?.forEach((item, index) => {
      const id = src.string(item, `${join(path, 'throttled')}[${index}]`, 'a rule id');
      if (id !== undefined) throttled.push(id);
    });
  }
  if (src.errors.length > errorsBefore || name === undefined || job === undefined || expect === undefined) return undefined;
  return { name, job, expect, throttled, line };
}

function readJob(src: YamlSource, node: Node, path: string): JobRequest | undefined {
  const entries = src.mapping(node, path, 'a test job', JOB_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  const before = src.errors.length;
  const text = (key: string): string | undefined => {
    const entry = get(key);
    return entry ? src.string(entry.value, join(path, key), key) : undefined;
  };
  const topic = required(src, get('topic'), path, 'topic', node, () => text('topic'));
  const labels: Record<string, string> = {};
  const labelsEntry = get('labels');
  if (labelsEntry) {
    for (const entry of src.mapping(labelsEntry.value, join(path, 'labels'), 'labels') ?? []) {
      const value = src.string(entry.value, join(join(path, 'labels'), entry.key), `label ${entry.key}`);
      if (value !== undefined) setOwn(labels, entry.key, value);
    }
  }
  const payloadEntry = get('payload');
  const payload = payloadEntry ? src.plain(payloadEntry.value, join(path, 'payload'), 'payload') : null;
  if (src.errors.length > before || topic === undefined) return undefined;
  return normalizeJobRequest({
    topic,
    priority: text('priority'),
    tenant: text('tenant'),
    submitted_by: text('submitted_by') ?? POLICY_TEST_SUBMITTER,
    labels,
    payload,
  });
}

function readExpect(src: YamlSource, node: Node, path: string): PolicyTestExpectation | undefined {
  const entries = src.mapping(node, path, 'expect', EXPECT_KEYS);
  if (entries === null) return undefined;
  const get = entriesByKey(entries);
  const before = src.errors.length;
  const decision = required(src, get('decision'), path, 'decision', node, (entry) => {
    const value = src.scalar(entry.value, join(path, 'decision'), 'decision');
    if (typeof value === 'string' && (POLICY_DECISIONS as readonly string[]).includes(value)) return value as PolicyDecision;
    if (value !== undefined) src.error('unknown_decision', `unknown decision ${JSON.stringify(value)}`, join(path, 'decision'), entry.value);
    return undefined;
  });
  let ruleId: string | null | undefined;
  const ruleEntry = get('rule_id');
  if (!ruleEntry) src.error('missing_key', 'expect needs rule_id (null when the default decides)', path, node);
  else {
    const value = src.scalar(ruleEntry.value, join(path, 'rule_id'), 'rule_id');
    if (value === null || typeof value === 'string') ruleId = value;
    else if (value !== undefined) src.error('invalid_type', 'rule_id must be a string or null', join(path, 'rule_id'), ruleEntry.value);
  }
  let approval: Partial<ApprovalRequirement> | undefined;
  const approvalEntry = get('approval');
  if (approvalEntry) approval = readExpectedApproval(src, approvalEntry.value, join(path, 'approval'));
  if (src.errors.length > before || decision === undefined || ruleId === undefined) return undefined;
  return { decision, rule_id: ruleId, ...(approval ? { approval } : {}) };
}

function readExpectedApproval(src: YamlSource, node: Node, path: string): Partial<ApprovalRequirement> | undefined {
  const entries = src.mapping(node, path, 'expect.approval', EXPECT_APPROVAL_KEYS);
  if (entries === null) return undefined;
  const out: { -readonly [K in keyof ApprovalRequirement]?: ApprovalRequirement[K] } = {};
  for (const { key, value } of entries) {
    const at = join(path, key);
    const scalar = key === 'reviewers' ? undefined : src.scalar(value, at, key);
    if (key === 'required' && typeof scalar === 'number' && Number.isInteger(scalar)) out.required = scalar;
    else if (key === 'timeout' && typeof scalar === 'string' && parseDuration(scalar) !== null) out.timeout_ms = parseDuration(scalar) as number;
    else if (key === 'on_timeout' && scalar === 'reject') out.on_timeout = scalar;
    else if (key === 'reviewers') {
      const roles = src.plain(value, at, 'reviewers');
      if (Array.isArray(roles) && roles.every((role): role is string => typeof role === 'string')) out.reviewers = roles;
      else src.error('invalid_approval', 'reviewers must be a list of strings', at, value);
    } else if (scalar !== undefined) {
      const kind = key === 'timeout' ? 'invalid_duration' : 'invalid_approval';
      src.error(kind, `invalid expected approval.${key}: ${JSON.stringify(scalar)}`, at, value);
    }
  }
  return out;
}

function required<T>(
  src: YamlSource,
  entry: MapEntry | undefined,
  path: string,
  key: string,
  at: Node,
  read: (entry: MapEntry) => T | undefined,
): T | undefined {
  if (!entry) {
    src.error('missing_key', `missing ${key}`, join(path, key), at);
    return undefined;
  }
  return read(entry);
}


/** A counter that reports the listed throttle rules over their limit and every other one under it. */
class ScriptedThrottleCounter extends ThrottleCounter {
  constructor(private readonly over: ReadonlySet<string>) {
    super();
  }

  override hit(key: string, windowMs: number, limit: number): ThrottleHit {
    const [ruleId] = JSON.parse(key) as [string];
    const allowed = !this.over.has(ruleId);
    return { allowed, count: allowed ? 1 : limit + 1, retry_after_seconds: Math.max(1, Math.ceil(windowMs / 1000)) };
  }
}

/** Evaluates a test job with the case's simulated throttle counters (a fixed instant: 0). */
export function evaluateTestCase(policy: CompiledPolicy, testCase: Pick<PolicyTestCase, 'job' | 'throttled'>): PolicyOutcome {
  const counter = new ScriptedThrottleCounter(new Set(testCase.throttled));
  return outcomeOf(evaluateSync(policy, testCase.job, { counter, now: 0 }));
}

/** Reduces an evaluation to its decision, rule and approval requirement. */
export function outcomeOf(evaluation: Evaluation): PolicyOutcome {
  return evaluation.decision === 'require_human'
    ? { decision: evaluation.decision, rule_id: evaluation.rule_id, approval: evaluation.approval }
    : { decision: evaluation.decision, rule_id: evaluation.rule_id };
}

/**
 * Runs policy test cases against a bundle: each case passes when the decision and rule id are the
 * expected ones (and the approval fields it names are equal). Throttle counters are simulated per
 * case (`throttled`), so runs are deterministic. Pure.
 */
export function runPolicyTests(policy: PolicyBundle | CompiledPolicy, cases: readonly PolicyTestCase[]): PolicyTestReport {
  const compiled = policy instanceof CompiledPolicy ? policy : compilePolicy(policy);
  const rules = new Map(compiled.bundle.rules.map((rule) => [rule.id, rule]));
  const results = cases.map((testCase): PolicyTestResult => {
    const failures: string[] = [];
    for (const id of testCase.throttled) {
      if (rules.get(id)?.decision !== 'throttle') failures.push(`throttled names ${id}, which is not a throttle rule of this bundle`);
    }
    const actual = evaluateTestCase(compiled, testCase);
    const expected = testCase.expect;
    if (actual.decision !== expected.decision) failures.push(`decision: expected ${expected.decision}, got ${actual.decision}`);
    if (actual.rule_id !== expected.rule_id) {
      const unknown = expected.rule_id !== null && !rules.has(expected.rule_id) ? ` (the bundle has no rule ${expected.rule_id})` : '';
      failures.push(`rule_id: expected ${expected.rule_id ?? 'null (default)'}, got ${actual.rule_id ?? 'null (default)'}${unknown}`);
    }
    for (const [key, value] of Object.entries(expected.approval ?? {})) {
      const got: unknown = actual.approval?.[key as keyof ApprovalRequirement];
      if (got === undefined || canonicalJson(got) !== canonicalJson(value)) {
        failures.push(`approval.${key}: expected ${JSON.stringify(value)}, got ${got === undefined ? 'no approval' : JSON.stringify(got)}`);
      }
    }
    return {
      name: testCase.name,
      ...(testCase.line !== undefined ? { line: testCase.line } : {}),
      passed: failures.length === 0,
      expected,
      actual,
      failures,
    };
  });
  const passed = results.filter((result) => result.passed).length;
  return { total: results.length, passed, failed: results.length - passed, results };
}
