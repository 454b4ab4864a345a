import { canonicalJson } from './integrity.hash';
import { compilePolicy } from './policy.compiler';
import { evaluateTestCase, type PolicyOutcome, type PolicyTestCase } from './policy-test.runner';
import type { DefaultDecision, PolicyBundle, PolicyRule } from './policy.types';

/** A rule present in both bundles whose content differs. */
export interface ChangedRule {
  readonly id: string;
  /** The rule members that differ (`when`, `decision`, `approval`, `throttle`, `description`). */
  readonly fields: readonly string[];
}

/** A test job whose outcome differs between the two bundles. */
export interface DecisionChange {
  readonly name: string;
  readonly line?: number;
  readonly from: PolicyOutcome;
  readonly to: PolicyOutcome;
}

/** What changed from bundle `a` to bundle `b`. */
export interface PolicyDiff {
  readonly from_snapshot: string;
  readonly to_snapshot: string;
  /** True when the snapshots are equal (nothing below can differ). */
  readonly identical: boolean;
  /** Set when the default decision changed. */
  readonly default: { readonly from: DefaultDecision; readonly to: DefaultDecision } | null;
  readonly rules: {
    /** Ids only in `b`, in `b`'s order. */
    readonly added: readonly string[];
    /** Ids only in `a`, in `a`'s order. */
    readonly removed: readonly string[];
    readonly changed: readonly ChangedRule[];
    /**
     * Ids in both whose relative order changed (first match wins, so order is policy): the
     * fewest rules that, moved, turn `a`'s order into `b`'s.
     */
    readonly moved: readonly string[];
  };
  /** Test cases whose decision, rule or approval requirement differs. */
  readonly decisions: readonly DecisionChange[];
}

/**
 * Compares two bundles: rules added, removed, changed or reordered, a changed default, and which of
 * the given test jobs change outcome (decision, rule id or approval requirement: what `decision`
 * snapshot mode compares). Pure.
 */
export function diffPolicies(a: PolicyBundle, b: PolicyBundle, cases: readonly PolicyTestCase[]): PolicyDiff {
  const compiledA = compilePolicy(a);
  const compiledB = compilePolicy(b);
  const rulesA = new Map(a.rules.map((rule) => [rule.id, rule]));
  const rulesB = new Map(b.rules.map((rule) => [rule.id, rule]));

  const added = b.rules.filter((rule) => !rulesA.has(rule.id)).map((rule) => rule.id);
  const removed = a.rules.filter((rule) => !rulesB.has(rule.id)).map((rule) => rule.id);
  const changed: ChangedRule[] = [];
  for (const rule of a.rules) {
    const other = rulesB.get(rule.id);
    if (!other) continue;
    const fields = changedFields(rule, other);
    if (fields.length > 0) changed.push({ id: rule.id, fields });
  }
  const commonA = a.rules.filter((rule) => rulesB.has(rule.id)).map((rule) => rule.id);
  const commonB = b.rules.filter((rule) => rulesA.has(rule.id)).map((rule) => rule.id);
  const kept = new Set(longestCommonOrder(commonA, commonB));
  const moved = commonA.filter((id) => !kept.has(id));

  const decisions: DecisionChange[] = [];
  for (const testCase of cases) {
    const from = evaluateTestCase(compiledA, testCase);
    const to = evaluateTestCase(compiledB, testCase);
    if (canonicalJson(from) !== canonicalJson(to)) {
      decisions.push({ name: testCase.name, ...(testCase.line !== undefined ? { line: testCase.line } : {}), from, to });
    }
  }

  return {
    from_snapshot: compiledA.snapshot,
    to_snapshot: compiledB.snapshot,
    identical: compiledA.snapshot === compiledB.snapshot,
    default: a.default === b.default ? null : { from: a.default, to: b.default },
    rules: { added, removed, changed, moved },
    decisions,
  };
}

function changedFields(a: PolicyRule, b: PolicyRule): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const fields: string[] = [];
  for (const key of [...keys].sort()) {
    const left: unknown = (a as unknown as Record<string, unknown>)[key];
    const right: unknown = (b as unknown as Record<string, unknown>)[key];
    if (left === undefined || right === undefined ? left !== right : canonicalJson(left) !== canonicalJson(right)) fields.push(key);
  }
  return fields;
}

/**
 * The longest common subsequence of two orderings of the same unique ids: the longest increasing
 * subsequence of `a`'s ids by their position in `b` (O(n log n)).
 */
function longestCommonOrder(a: readonly string[], b: readonly string[]): string[] {
  const positionInB = new Map(b.map((id, index) => [id, index]));
  const positions = a.map((id) => positionInB.get(id) ?? -1);
  const tails: number[] = []; // tails[k]: index into `a` of the smallest tail of an increasing run of length k+1
  const previous = new Int32Array(a.length).fill(-1);
  for (let i = 0; i < positions.length; i++) {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (positions[tails[mid]] < positions[i]) low = mid + 1;
      else high = mid;
    }
    if (low > 0) previous[i] = tails[low - 1];
    tails[low] = i;
  }
  const out: string[] = [];
  for (let k = tails.length > 0 ? tails[tails.length - 1] : -1; k !== -1; k = previous[k]) out.push(a[k]);
  return out.reverse();
}
