/**
 * @signoff/policy-engine: policy bundles (DESIGN section 7) parsed with source positions, validated,
 * compiled into topic-indexed matchers and evaluated; `job_hash` and `policy_snapshot` (section 3);
 * policy tests as data and policy diffs for the CLI. Pure except `policy-file.loader` (reads files).
 */
export * from './policy.types';
export { parseDuration, formatDuration, MAX_DURATION_MS } from './duration.util';
export { parsePolicy, RULE_ID_PATTERN, DEFAULT_APPROVAL_TIMEOUT, MAX_REGEX_LENGTH, MAX_REQUIRED_APPROVALS, isThrottleKey } from './policy.parser';
export { compilePolicy, CompiledPolicy, type CompilePolicyOptions, type CompiledRule, type CompiledThrottle } from './policy.compiler';
export { evaluate, evaluateSync, PolicyEvaluationError, type ThrottleContext } from './policy.evaluator';
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
export { syntheticPolicy, syntheticJobs, type SyntheticPolicy } from './testing/synthetic-policy.fixture';
