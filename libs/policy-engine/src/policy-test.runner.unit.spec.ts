import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.compiler';
import { diffPolicies } from './policy.differ';
import { evaluateSync } from './policy.evaluator';
import { parsePolicy } from './policy.parser';
import { parsePolicyTests, runPolicyTests, type PolicyTestCase } from './policy-test.runner';
import type { PolicyBundle } from './policy.types';

function bundle(text: string): PolicyBundle {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.bundle;
}

function cases(text: string): readonly PolicyTestCase[] {
  const parsed = parsePolicyTests(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.cases;
}

const BASE = bundle(`
rules:
  - {id: read, when: {topic: kb.read}, decision: allow}
  - {id: pay-prod, when: {topic: pay, env: production}, decision: require_human, approval: {required: 2, timeout: 30m}}
  - {id: burst, when: {topic: notify}, decision: throttle, throttle: {limit: 5, per: 1m, key: tenant}}
  - {id: notify, when: {topic: notify}, decision: allow}
`);

const CASES = cases(`
- name: reads run
  job: {topic: kb.read}
  expect: {decision: allow, rule_id: read}
- name: production payments need two approvers
  job: {topic: pay, labels: {env: production}, payload: {amount: 3}}
  expect: {decision: require_human, rule_id: pay-prod, approval: {required: 2, timeout: 30m, reviewers: [], on_timeout: reject}}
- name: other payments are denied
  job: {topic: pay}
  expect: {decision: deny, rule_id: null}
- name: notifications under the limit run
  job: {topic: notify, tenant: acme}
  expect: {decision: allow, rule_id: notify}
- name: notifications over the limit are throttled
  job: {topic: notify, tenant: acme}
  throttled: [burst]
  expect: {decision: throttle, rule_id: burst}
`);

describe('parsePolicyTests', () => {
  it('reads cases with normalized jobs and their lines', () => {
    expect(CASES).toHaveLength(5);
    expect(CASES[1]).toEqual({
      name: 'production payments need two approvers',
      job: { topic: 'pay', priority: 'normal', tenant: 'default', submitted_by: 'policy-test', labels: { env: 'production' }, payload: { amount: 3 } },
      expect: { decision: 'require_human', rule_id: 'pay-prod', approval: { required: 2, timeout_ms: 1_800_000, reviewers: [], on_timeout: 'reject' } },
      throttled: [],
      line: 5,
    });
  });

  it('reports every problem of a test file with its position', () => {
    const parsed = parsePolicyTests(
      [
        '- name: no job',
        '  expect: {decision: allow, rule_id: x}',
        '- name: bad',
        '  job: {topic: t, labels: {env: 1}, colour: red}',
        '  expect: {decision: maybe}',
        '- job: {topic: 5}',
        '  expect: {decision: allow, rule_id: null, approval: {timeout: soon}}',
      ].join('\n'),
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map((e) => [e.code, e.path, e.line, e.column])).toEqual([
      ['missing_key', '[0].job', 1, 3],
      ['invalid_type', '[1].job.labels.env', 4, 33],
      ['unknown_key', '[1].job.colour', 4, 37],
      ['missing_key', '[1].expect', 5, 11],
      ['unknown_decision', '[1].expect.decision', 5, 22],
      ['missing_key', '[2].name', 6, 3],
      ['invalid_type', '[2].job.topic', 6, 16],
      ['invalid_duration', '[2].expect.approval.timeout', 7, 64],
    ]);
  });

  it('refuses a file that is not a list', () => {
    const parsed = parsePolicyTests('name: x\n');
    expect(parsed.ok ? [] : parsed.errors.map((e) => [e.code, e.line, e.column])).toEqual([['invalid_type', 1, 1]]);
  });
});

describe('runPolicyTests', () => {
  it('passes when decisions, rules and named approval fields match', () => {
    const report = runPolicyTests(BASE, CASES);
    expect(report.results.filter((r) => !r.passed)).toEqual([]);
    expect([report.total, report.passed, report.failed]).toEqual([5, 5, 0]);
  });

  it('accepts an already compiled policy', () => {
    expect(runPolicyTests(compilePolicy(BASE), CASES).passed).toBe(5);
  });

  it('explains every failure', () => {
    const failing = cases(`
- name: wrong rule and decision
  job: {topic: kb.read}
  expect: {decision: deny, rule_id: nope}
- name: wrong approval
  job: {topic: pay, labels: {env: production}}
  expect: {decision: require_human, rule_id: pay-prod, approval: {required: 3}}
- name: throttled names a rule that does not throttle
  job: {topic: kb.read}
  throttled: [read]
  expect: {decision: allow, rule_id: read}
`);
    const report = runPolicyTests(BASE, failing);
    expect([report.passed, report.failed]).toEqual([0, 3]);
    expect(report.results.map((r) => r.failures)).toEqual([
      ['decision: expected deny, got allow', 'rule_id: expected nope, got read (the bundle has no rule nope)'],
      ['approval.required: expected 3, got 2'],
      ['throttled names read, which is not a throttle rule of this bundle'],
    ]);
    expect(report.results[0].actual).toEqual({ decision: 'allow', rule_id: 'read' });
  });
});

describe('diffPolicies', () => {
  const NEXT = bundle(`
rules:
  - {id: pay-prod, when: {topic: pay, env: production}, decision: require_human, approval: {required: 1, timeout: 30m}}
  - {id: read, when: {topic: kb.read}, decision: allow}
  - {id: pay-staging, when: {topic: pay, env: staging}, decision: allow}
  - {id: notify, when: {topic: notify}, decision: allow}
default: deny
`);

  it('lists rules added, removed, changed and moved, and the test jobs whose outcome changes', () => {
    const diff = diffPolicies(BASE, NEXT, [
      ...CASES,
      ...cases('- name: staging payment\n  job: {topic: pay, labels: {env: staging}}\n  expect: {decision: allow, rule_id: pay-staging}'),
    ]);
    expect(diff.identical).toBe(false);
    expect(diff.from_snapshot).not.toBe(diff.to_snapshot);
    expect(diff.default).toBeNull();
    expect(diff.rules).toEqual({
      added: ['pay-staging'],
      removed: ['burst'],
      changed: [{ id: 'pay-prod', fields: ['approval'] }],
      moved: ['read'],
    });
    expect(diff.decisions.map((d) => [d.name, d.from.decision, d.from.rule_id, d.to.decision, d.to.rule_id])).toEqual([
      ['production payments need two approvers', 'require_human', 'pay-prod', 'require_human', 'pay-prod'],
      ['notifications over the limit are throttled', 'throttle', 'burst', 'allow', 'notify'],
      ['staging payment', 'deny', null, 'allow', 'pay-staging'],
    ]);
    expect(diff.decisions[0].to.approval?.required).toBe(1);
  });

  it('reports nothing between a bundle and its reformatted self', () => {
    const same = bundle(JSON.stringify(BASE));
    const diff = diffPolicies(BASE, same, CASES);
    expect(diff).toMatchObject({ identical: true, default: null, rules: { added: [], removed: [], changed: [], moved: [] }, decisions: [] });
  });

  it('reports a changed default', () => {
    const open = bundle(JSON.stringify({ ...BASE, default: 'allow' }));
    const diff = diffPolicies(BASE, open, CASES);
    expect(diff.default).toEqual({ from: 'deny', to: 'allow' });
    expect(diff.decisions.map((d) => d.name)).toEqual(['other payments are denied']);
    expect(evaluateSync(compilePolicy(open), CASES[2].job).decision).toBe('allow');
  });

  it('finds the fewest moved rules in a long reordering', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    const make = (order: string[]) => bundle(JSON.stringify({ rules: order.map((id) => ({ id, when: { topic: id }, decision: 'allow' })) }));
    const moved = [...ids.slice(1, 100), ids[0], ...ids.slice(100, 150), ids[199], ...ids.slice(150, 199)];
    expect(diffPolicies(make(ids), make(moved), []).rules.moved).toEqual(['r0', 'r199']);
  });
});
