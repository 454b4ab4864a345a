/**
 * @signoff/policy-engine: policy bundles (DESIGN section 7) parsed with source positions, validated,
 * compiled into topic-indexed matchers and evaluated; `job_hash` and `policy_snapshot` (section 3);
 * policy tests as data and policy diffs for the CLI. Pure except `policy-file.loader` (reads files).
 */
export * from './policy.types';
export { parseDuration, formatDuration, MAX_DURATION_MS } from './duration.util';
export {
  parsePolicy,
  parseStoredPolicy,
  RULE_ID_PATTERN,
  DEFAULT_APPROVAL_TIMEOUT,
  MAX_POLICY_JSON_BYTES,
  MAX_POLICY_RULES,
  MAX_REQUIRED_APPROVALS,
  MAX_NOTIFY_TARGETS,
  MAX_ESCALATION_STEPS,
  MAX_ADDED_REVIEWERS,
  NOTIFY_TARGET_PATTERN,
  isThrottleKey,
} from './policy.parser';
export { MAX_ALIAS_RESOLUTIONS, MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_LENGTH, MAX_DOCUMENT_NODES, MAX_EXPANDED_SIZE } from './yaml-source.reader';
export { compilePolicyRegex, MAX_MATCH_WORK, MAX_REGEX_LENGTH, MAX_REGEX_PROGRAM_SIZE, type PolicyRegex } from './policy-regex';
export { compilePolicy, CompiledPolicy, type CompilePolicyOptions, type CompiledRule, type CompiledThrottle } from './policy.compiler';
export { evaluate, evaluateSync, type ThrottleContext } from './policy.evaluator';
export {
  DEFAULT_EVALUATION_BUDGET_MS,
  EvaluationBudgetExceededError,
  type EvaluationLimits,
  PolicyEvaluationError,
  WORK_UNITS_PER_CLOCK_CHECK,
} from './evaluation-budget';
export { ThrottleCounter, type ThrottleHit, fixedWindowStart, retryAfterSeconds } from './throttle-counter.port';
export { InMemoryThrottleCounter } from './in-memory-throttle.counter';
export {
  jobHash,
  policySnapshot,
  normalizeJobRequest,
  canonicalJson,
  canonicalSha256,
  NotCanonicalJsonError,
  JOB_REQUEST_DEFAULTS,
  type JobRequestInput,
} from './integrity.hash';
export {
  parsePolicyTests,
  runPolicyTests,
  evaluateTestCase,
  outcomeOf,
  POLICY_TEST_SUBMITTER,
  type PolicyTestCase,
  type PolicyTestExpectation,
  type PolicyOutcome,
  type PolicyTestResult,
  type PolicyTestReport,
  type PolicyTestParseResult,
} from './policy-test.runner';
export { diffPolicies, type PolicyDiff, type ChangedRule, type DecisionChange } from './policy.differ';
export {
  readPolicyFile,
  readPolicyTestFile,
  findPolicyTestFiles,
  isPolicyTestFile,
  bundlePathForTestFile,
  formatPolicyError,
  type PolicyFileResult,
  type PolicyTestFileResult,
} from './policy-file.loader';
export { notifyTargetsOf } from './notify-targets';
