import type { ApprovalRequirement, OnTimeout, PolicyDecision } from '@signoff/contracts';

/** The one bundle format this engine reads (`version:` of a bundle). */
export const POLICY_FORMAT_VERSION = 'v1';

/** The decisions a rule may take (DESIGN section 7). */
export const POLICY_DECISIONS = ['allow', 'deny', 'throttle', 'require_human'] as const satisfies readonly PolicyDecision[];

/** What happens when no rule matches. */
export type DefaultDecision = 'allow' | 'deny';

/** The operators of an operator condition (`env: {in: [a, b]}`). */
export const CONDITION_OPERATORS = ['in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'matches', 'exists'] as const;
/** One operator of an operator condition. */
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

/** A scalar of a condition. Strings may contain `*` globs (any run of characters). */
export type ConditionScalar = string | number | boolean | null;

/**
 * An operator condition; every operator present must hold (they are AND-ed).
 * - `in` / `not_in`: any of / none of the listed scalars (globs allowed). An absent field is
 *   never `in` a list and therefore always `not_in` it.
 * - `gt` / `gte` / `lt` / `lte`: numeric comparison. On payload paths only JSON numbers compare
 *   (`"100"` is not a number there); labels and the other job fields are strings, so there a plain
 *   decimal literal (`"1500"`) compares as its number. Anything else, or an absent field, does not match.
 * - `matches`: a JavaScript regular expression (unanchored, no flags) tested against string values.
 * - `exists`: whether the field is present (`true`) or absent (`false`).
 */
export interface OperatorCondition {
  readonly in?: readonly ConditionScalar[];
  readonly not_in?: readonly ConditionScalar[];
  readonly gt?: number;
  readonly gte?: number;
  readonly lt?: number;
  readonly lte?: number;
  readonly matches?: string;
  readonly exists?: boolean;
}

/** A `when` value: a scalar (equality or glob), a list (any of), or an operator object. */
export type Condition = ConditionScalar | readonly ConditionScalar[] | OperatorCondition;

/** `approval:` of a `require_human` rule, with every default applied. */
export interface ApprovalSpec {
  /** Distinct reviewers needed; default 1. */
  readonly required: number;
  /** Reviewer roles allowed to approve; default `[]` (any reviewer). */
  readonly reviewers: readonly string[];
  /** A duration (`30m`, `24h`, `7d`) in its canonical form; default `1d` (24 hours). */
  readonly timeout: string;
  /** Default `reject` (fail closed: the job ends `EXPIRED`). */
  readonly on_timeout: OnTimeout;
  /**
   * The notification targets told about the approval's changes: `slack` or `webhook:<endpoint id>`.
   * Absent (the default): every configured target whose own `events` filter matches. Omitted from
   * the normalized bundle when absent, so bundles without it keep their snapshot.
   */
  readonly notify?: readonly string[];
  /** Reminders and escalations while the approval waits, ordered by `after`; absent when none. */
  readonly escalate?: readonly EscalationStepSpec[];
}

/** One `approval.escalate` step: at least one of `notify` and `add_reviewers`. */
export interface EscalationStepSpec {
  /** A canonical duration after the request (strictly increasing along the steps, below `timeout`). */
  readonly after: string;
  /** Who is told of this step (same grammar as `approval.notify`); absent: the approval's targets. */
  readonly notify?: readonly string[];
  /** Reviewer roles that may approve from this step on (besides `reviewers`). */
  readonly add_reviewers?: readonly string[];
}

/** The job fields a throttle counter may be keyed by (besides `labels.<name>`). */
export const THROTTLE_KEY_FIELDS = ['topic', 'tenant', 'submitted_by'] as const;

/** `throttle:` of a `throttle` rule. */
export interface ThrottleSpec {
  /** Jobs allowed per window (integer >= 1). */
  readonly limit: number;
  /** The window as a canonical duration (`1m`, `90s`). */
  readonly per: string;
  /**
   * What is counted separately: `topic`, `tenant`, `submitted_by` or `labels.<name>`. Omitted: one
   * counter for everything the rule matches.
   */
  readonly key?: string;
}

/** One rule of a parsed bundle. */
export interface PolicyRule {
  readonly id: string;
  readonly description?: string;
  /** Conditions, all of which must hold; `{}` matches every job. */
  readonly when: Readonly<Record<string, Condition>>;
  readonly decision: PolicyDecision;
  /** Present exactly when `decision` is `require_human` (defaults applied). */
  readonly approval?: ApprovalSpec;
  /** Present exactly when `decision` is `throttle`. */
  readonly throttle?: ThrottleSpec;
  /**
   * Request paths (`payload.card_number`, `labels.ssn`) redacted from the audit stream and
   * exports for jobs this rule decided, on top of AUDIT_REDACT_FIELDS.
   */
  readonly redact?: readonly string[];
}

/**
 * A validated, normalized policy bundle: plain JSON with every default applied (`version`,
 * `default`, `when`, approval defaults) and durations in canonical form. Its RFC 8785 form is what
 * `policySnapshot` hashes, and re-parsing its JSON yields the same bundle.
 */
export interface PolicyBundle {
  readonly version: typeof POLICY_FORMAT_VERSION;
  readonly description?: string;
  readonly default: DefaultDecision;
  readonly rules: readonly PolicyRule[];
}

/** The kinds of problems a bundle or a policy test file can have. */
export type PolicyErrorCode =
  | 'syntax'
  | 'unsupported_yaml'
  | 'invalid_type'
  | 'unknown_key'
  | 'missing_key'
  | 'invalid_value'
  | 'unknown_decision'
  | 'unknown_operator'
  | 'duplicate_rule_id'
  | 'invalid_duration'
  | 'invalid_regex'
  | 'invalid_approval'
  | 'invalid_throttle'
  | 'too_large';

/** A problem in a bundle (or test file), with its 1-based position in the source text. */
export interface PolicyError {
  readonly code: PolicyErrorCode;
  readonly message: string;
  /** Where in the document, e.g. `rules[1].approval.required` (`` for the document itself). */
  readonly path: string;
  readonly line: number;
  readonly column: number;
}

/** The result of parsing: a bundle, or every error found (never only the first). */
export type PolicyParseResult =
  | { readonly ok: true; readonly bundle: PolicyBundle }
  | { readonly ok: false; readonly errors: readonly PolicyError[] };

/** Options of `parsePolicy`. */
export interface ParsePolicyOptions {
  /**
   * `yaml` (default) parses YAML, which includes JSON; `json` additionally requires the text to be
   * strict JSON (a `PUT /policy` with `Content-Type: application/json`).
   */
  readonly format?: 'yaml' | 'json';
}

/** Evaluation outcome of an `allow` rule or an `allow` default. */
export interface AllowEvaluation {
  readonly decision: 'allow';
  /** The matching rule; null when the bundle's default decided. */
  readonly rule_id: string | null;
  readonly reason: string;
}

/** Evaluation outcome of a `deny` rule or the `deny` default. */
export interface DenyEvaluation {
  readonly decision: 'deny';
  readonly rule_id: string | null;
  readonly reason: string;
}

/** Evaluation outcome of a `require_human` rule. */
export interface RequireHumanEvaluation {
  readonly decision: 'require_human';
  readonly rule_id: string;
  readonly reason: string;
  readonly approval: ApprovalRequirement;
}

/** Evaluation outcome of a `throttle` rule whose counter is over its limit. */
export interface ThrottleEvaluation {
  readonly decision: 'throttle';
  readonly rule_id: string;
  readonly reason: string;
  /** Seconds until the current window ends (>= 1): the `Retry-After` of the 429. */
  readonly retry_after_seconds: number;
}

/** What `evaluate` returns; discriminated on `decision`. */
export type Evaluation = AllowEvaluation | DenyEvaluation | RequireHumanEvaluation | ThrottleEvaluation;
