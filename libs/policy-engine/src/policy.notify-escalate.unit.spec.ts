import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.compiler';
import { evaluateSync } from './policy.evaluator';
import { notifyTargetsOf } from './notify-targets';
import { MAX_ESCALATION_STEPS, MAX_NOTIFY_TARGETS, parsePolicy } from './policy.parser';
import { policySnapshot } from './integrity.hash';
import type { PolicyBundle, PolicyError } from './policy.types';

function bundleWith(approval: string): string {
  return ['version: v1', 'default: deny', 'rules:', '  - id: pay', '    when: {topic: finance.pay}', '    decision: require_human', `    approval: ${approval}`, ''].join('\n');
}

function parsed(approval: string): PolicyBundle {
  const result = parsePolicy(bundleWith(approval));
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.bundle;
}

function errorsOf(text: string): readonly PolicyError[] {
  const result = parsePolicy(text);
  if (result.ok) throw new Error('expected the bundle to be refused');
  return result.errors;
}

const ESCALATING = [
  'version: v1',
  'default: deny',
  'rules:',
  '  - id: pay',
  '    when: {topic: finance.pay}',
  '    decision: require_human',
  '    approval:',
  '      reviewers: [finance-approver]',
  '      timeout: 4h',
  '      notify: [webhook:finance-ops]',
  '      escalate:',
  '        - {after: 30m, notify: [slack]}',
  '        - {after: 2h, add_reviewers: [finance-director]}',
  '',
].join('\n');

describe('approval.notify and approval.escalate: parsing', () => {
  it('normalizes notify and escalate (durations canonical), omitted when absent', () => {
    const result = parsePolicy(ESCALATING);
    expect(result.ok && result.bundle.rules[0]?.approval).toEqual({
      required: 1,
      reviewers: ['finance-approver'],
      timeout: '4h',
      on_timeout: 'reject',
      notify: ['webhook:finance-ops'],
      escalate: [
        { after: '30m', notify: ['slack'] },
        { after: '2h', add_reviewers: ['finance-director'] },
      ],
    });
    expect(parsed('{required: 1}').rules[0]?.approval).toEqual({ required: 1, reviewers: [], timeout: '1d', on_timeout: 'reject' });
  });

  it('a bundle without notify/escalate keeps its snapshot (no new keys in its normalized form)', () => {
    const bundle = parsed('{required: 2}');
    expect(Object.keys(bundle.rules[0]!.approval!)).toEqual(['required', 'reviewers', 'timeout', 'on_timeout']);
    expect(policySnapshot(bundle)).toBe(policySnapshot(parsed('{required: 2, timeout: 24h}')));
  });

  // `at`: the text the error points at (its last occurrence in the approval line).
  it.each([
    ['a target of another kind', '{notify: [email:bob]}', 'rules[0].approval.notify[0]', 'email:bob'],
    ['an upper-case endpoint id', '{notify: ["webhook:Ops"]}', 'rules[0].approval.notify[0]', '"webhook:Ops"'],
    ['a duplicate target', '{notify: [slack, slack]}', 'rules[0].approval.notify[1]', 'slack'],
    ['an empty list', '{notify: []}', 'rules[0].approval.notify', '[]'],
    ['a step without after', '{reviewers: [a], escalate: [{notify: [slack]}]}', 'rules[0].approval.escalate[0]', '{notify'],
    ['a step that does nothing', '{escalate: [{after: 1h}]}', 'rules[0].approval.escalate[0]', '{after'],
    ['a bad delay', '{escalate: [{after: soon, notify: [slack]}]}', 'rules[0].approval.escalate[0].after', 'soon'],
    ['steps out of order', '{escalate: [{after: 2h, notify: [slack]}, {after: 1h, notify: [slack]}]}', 'rules[0].approval.escalate[1].after', '1h'],
    ['equal delays', '{escalate: [{after: 60m, notify: [slack]}, {after: 1h, notify: [slack]}]}', 'rules[0].approval.escalate[1].after', '1h'],
    ['a step at the timeout', '{timeout: 1h, escalate: [{after: 1h, notify: [slack]}]}', 'rules[0].approval.escalate[0].after', '1h'],
    ['an unknown step key', '{escalate: [{after: 1h, notify: [slack], page: true}]}', 'rules[0].approval.escalate[0].page', 'page'],
    ['add_reviewers without reviewers', '{escalate: [{after: 1h, add_reviewers: [boss]}]}', 'rules[0].approval.escalate[0].add_reviewers', '[boss]'],
    ['add_reviewers repeating a rule role', '{reviewers: [boss], escalate: [{after: 1h, add_reviewers: [boss]}]}', 'rules[0].approval.escalate[0].add_reviewers[0]', 'boss'],
  ])('refuses %s with its line and column', (_name, approval, path, at) => {
    const text = bundleWith(approval);
    const errors = errorsOf(text);
    const error = errors.find((e) => e.path === path);
    expect(error, JSON.stringify(errors)).toBeDefined();
    expect(error!.code).toMatch(/^invalid_(approval|duration|type)$|^unknown_key$/);
    const line = text.split('\n')[6]!;
    expect({ line: error!.line, column: error!.column }).toEqual({ line: 7, column: line.lastIndexOf(at) + 1 });
  });

  it('bounds the counts', () => {
    const targets = Array.from({ length: MAX_NOTIFY_TARGETS + 1 }, (_, i) => `webhook:e${i}`).join(', ');
    expect(errorsOf(bundleWith(`{notify: [${targets}]}`)).map((e) => e.path)).toContain('rules[0].approval.notify');
    const steps = Array.from({ length: MAX_ESCALATION_STEPS + 1 }, (_, i) => `{after: ${i + 1}m, notify: [slack]}`).join(', ');
    expect(errorsOf(bundleWith(`{escalate: [${steps}]}`)).map((e) => e.path)).toContain('rules[0].approval.escalate');
    const ten = Array.from({ length: MAX_ESCALATION_STEPS }, (_, i) => `{after: ${i + 1}m, notify: [slack]}`).join(', ');
    expect(parsed(`{escalate: [${ten}]}`).rules[0]?.approval?.escalate).toHaveLength(MAX_ESCALATION_STEPS);
  });

  it('a long hostile target name is refused with a short message', () => {
    const errors = errorsOf(bundleWith(`{notify: ["${'x'.repeat(5000)}"]}`));
    expect(errors[0]!.message.length).toBeLessThan(300);
  });

  it('notifyTargetsOf lists every named target once', () => {
    expect(notifyTargetsOf((parsePolicy(ESCALATING) as { bundle: PolicyBundle }).bundle)).toEqual(['webhook:finance-ops', 'slack']);
  });
});

describe('approval.notify and approval.escalate: compiled into the requirement', () => {
  const job = { topic: 'finance.pay', priority: 'normal', tenant: 'default', submitted_by: 'agent', labels: {}, payload: {} };

  it('carries notify and the steps in milliseconds', () => {
    const result = parsePolicy(ESCALATING);
    if (!result.ok) throw new Error('invalid');
    const evaluation = evaluateSync(compilePolicy(result.bundle), job);
    expect(evaluation).toMatchObject({ decision: 'require_human' });
    expect(evaluation.decision === 'require_human' && evaluation.approval).toEqual({
      required: 1,
      reviewers: ['finance-approver'],
      timeout_ms: 4 * 3_600_000,
      on_timeout: 'reject',
      notify: ['webhook:finance-ops'],
      escalate: [
        { after_ms: 30 * 60_000, notify: ['slack'] },
        { after_ms: 2 * 3_600_000, add_reviewers: ['finance-director'] },
      ],
    });
  });

  it('a rule without them yields the requirement as before', () => {
    const evaluation = evaluateSync(compilePolicy(parsed('{required: 1}')), job);
    expect(evaluation.decision === 'require_human' && Object.keys(evaluation.approval)).toEqual(['required', 'reviewers', 'timeout_ms', 'on_timeout']);
  });
});
