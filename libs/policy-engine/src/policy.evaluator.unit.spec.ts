import type { JobRequest } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { InMemoryThrottleCounter } from './in-memory-throttle.counter';
import { normalizeJobRequest, type JobRequestInput } from './integrity.hash';
import { compilePolicy, type CompiledPolicy } from './policy.compiler';
import { evaluate, evaluateSync, PolicyEvaluationError } from './policy.evaluator';
import { parsePolicy } from './policy.parser';
import type { Evaluation } from './policy.types';
import { ThrottleCounter, type ThrottleHit } from './throttle-counter.port';

function compile(text: string, topicCacheSize?: number): CompiledPolicy {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return compilePolicy(parsed.bundle, topicCacheSize === undefined ? {} : { topicCacheSize });
}

function job(input: Partial<JobRequestInput> & { topic: string }): JobRequest {
  return normalizeJobRequest({ submitted_by: 'agent-1', ...input });
}

const DEFAULT_BUNDLE = `
version: v1
rules:
  - id: allow-readonly
    when: {topic: knowledge.read}
    decision: allow
  - id: require-approval-prod-finance
    when: {topic: finance.payment.execute, env: production}
    decision: require_human
  - id: require-approval-external-notify
    when: {topic: customer.notify, channel: external}
    decision: require_human
`;

describe('evaluate: the reference article rules', () => {
  const policy = compile(DEFAULT_BUNDLE);
  it.each([
    ['knowledge.read', {}, 'allow', 'allow-readonly'],
    ['knowledge.read', { env: 'production' }, 'allow', 'allow-readonly'],
    ['finance.payment.execute', { env: 'production' }, 'require_human', 'require-approval-prod-finance'],
    ['finance.payment.execute', { env: 'staging' }, 'deny', null],
    ['finance.payment.execute', {}, 'deny', null],
    ['customer.notify', { channel: 'external' }, 'require_human', 'require-approval-external-notify'],
    ['customer.notify', { channel: 'internal' }, 'deny', null],
    ['unknown.topic', { env: 'production', channel: 'external' }, 'deny', null],
  ] as const)('%s %j -> %s (%s)', (topic, labels, decision, ruleId) => {
    const result = evaluateSync(policy, job({ topic, labels }));
    expect(result.decision).toBe(decision);
    expect(result.rule_id).toBe(ruleId);
    expect(result.reason.length).toBeGreaterThan(0);
  });

  it('gives require_human the default approval requirement: 1 reviewer, any role, 24h, reject', () => {
    const result = evaluateSync(policy, job({ topic: 'finance.payment.execute', labels: { env: 'production' } }));
    expect(result).toEqual({
      decision: 'require_human',
      rule_id: 'require-approval-prod-finance',
      reason: 'matched rule require-approval-prod-finance',
      approval: { required: 1, reviewers: [], timeout_ms: 86_400_000, on_timeout: 'reject' },
    });
  });

  it('is synchronous and returns the same frozen outcome every time (no allocation per call)', () => {
    const request = job({ topic: 'knowledge.read' });
    const first = evaluate(policy, request);
    expect(first).not.toBeInstanceOf(Promise);
    expect(evaluate(policy, request)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(evaluate(policy, job({ topic: 'nope' }))).toBe(policy.defaultResult);
  });

  it('uses default allow when the bundle says so', () => {
    const open = compile('default: allow\nrules: [{id: no-drop, when: {topic: db.drop}, decision: deny}]');
    expect(evaluateSync(open, job({ topic: 'db.read' }))).toEqual({ decision: 'allow', rule_id: null, reason: 'no rule matched; default allow' });
    expect(evaluateSync(open, job({ topic: 'db.drop' })).decision).toBe('deny');
  });
});

describe('evaluate: conditions', () => {
  const policy = compile(`
rules:
  - {id: glob-topic, when: {topic: "ops.*.restart"}, decision: deny}
  - {id: list-topic, when: {topic: [a.one, a.two]}, decision: allow}
  - {id: in-topic, when: {topic: {in: [b.one, "b.x*"]}}, decision: allow}
  - {id: not-in, when: {topic: c.op, env: {not_in: [production, "prod-*"]}}, decision: allow}
  - {id: gt, when: {topic: d.op, payload.amount: {gt: 100}}, decision: require_human, approval: {required: 2}}
  - {id: range, when: {topic: d.op, payload.amount: {gte: 10, lte: 100}}, decision: allow}
  - {id: lt, when: {topic: d.op, payload.amount: {lt: 10}}, decision: deny}
  - {id: label-number, when: {topic: e.op, attempt: {gte: 3}}, decision: deny}
  - {id: matches, when: {topic: f.op, payload.email: {matches: "@example\\\\.com$"}}, decision: allow}
  - {id: exists, when: {topic: g.op, payload.ticket: {exists: true}}, decision: allow}
  - {id: not-exists, when: {topic: g.op, region: {exists: false}}, decision: deny}
  - {id: nested, when: {topic: h.op, payload.a.b.c: "x*"}, decision: allow}
  - {id: array-index, when: {topic: h.op, payload.items.0.sku: SKU-1}, decision: deny}
  - {id: null-value, when: {topic: h.op, payload.note: null}, decision: require_human}
  - {id: fields, when: {topic: i.op, priority: high, tenant: "acme*", submitted_by: [ci, bot]}, decision: allow}
  - {id: label-named-topic, when: {topic: j.op, labels.topic: other}, decision: allow}
  - {id: payload-root, when: {topic: k.op, payload: {exists: false}}, decision: deny}
  - {id: bool, when: {topic: k.op, payload.dry_run: true}, decision: allow}
  - {id: proto, when: {topic: l.op, payload.constructor: {exists: true}}, decision: deny}
  - {id: proto-label, when: {topic: l.op, constructor: {exists: true}}, decision: deny}
  - {id: proto-label-eq, when: {topic: l.op, toString: "*"}, decision: deny}
`);

  it.each<[string, Partial<JobRequestInput> & { topic: string }, Evaluation['decision'], string | null]>([
    ['glob topic', { topic: 'ops.web.restart' }, 'deny', 'glob-topic'],
    ['glob spans dots', { topic: 'ops.eu.web.restart' }, 'deny', 'glob-topic'],
    ['glob is anchored', { topic: 'ops.web.restart.now' }, 'deny', null],
    ['list of topics', { topic: 'a.two' }, 'allow', 'list-topic'],
    ['in with literal', { topic: 'b.one' }, 'allow', 'in-topic'],
    ['in with glob', { topic: 'b.xyz' }, 'allow', 'in-topic'],
    ['not_in: other value', { topic: 'c.op', labels: { env: 'dev' } }, 'allow', 'not-in'],
    ['not_in: listed value', { topic: 'c.op', labels: { env: 'production' } }, 'deny', null],
    ['not_in: glob value', { topic: 'c.op', labels: { env: 'prod-eu' } }, 'deny', null],
    ['not_in: absent label is not in the list', { topic: 'c.op' }, 'allow', 'not-in'],
    ['gt', { topic: 'd.op', payload: { amount: 100.5 } }, 'require_human', 'gt'],
    ['gte/lte inclusive upper', { topic: 'd.op', payload: { amount: 100 } }, 'allow', 'range'],
    ['gte/lte inclusive lower', { topic: 'd.op', payload: { amount: 10 } }, 'allow', 'range'],
    ['lt', { topic: 'd.op', payload: { amount: 9 } }, 'deny', 'lt'],
    ['numbers in payload strings do not compare', { topic: 'd.op', payload: { amount: '500' } }, 'deny', null],
    ['absent number matches no comparison', { topic: 'd.op', payload: {} }, 'deny', null],
    ['numeric label compares as a number', { topic: 'e.op', labels: { attempt: '3' } }, 'deny', 'label-number'],
    ['non-numeric label does not compare', { topic: 'e.op', labels: { attempt: 'three' } }, 'deny', null],
    ['matches', { topic: 'f.op', payload: { email: 'a@example.com' } }, 'allow', 'matches'],
    ['matches is a regex, not a glob', { topic: 'f.op', payload: { email: 'a@exampleXcom' } }, 'deny', null],
    ['matches needs a string', { topic: 'f.op', payload: { email: 42 } }, 'deny', null],
    ['exists true', { topic: 'g.op', payload: { ticket: null }, labels: { region: 'eu' } }, 'allow', 'exists'],
    ['exists false', { topic: 'g.op', payload: {} }, 'deny', 'not-exists'],
    ['nested path with glob', { topic: 'h.op', payload: { a: { b: { c: 'xyz' } } } }, 'allow', 'nested'],
    ['array index', { topic: 'h.op', payload: { items: [{ sku: 'SKU-1' }] } }, 'deny', 'array-index'],
    ['explicit null', { topic: 'h.op', payload: { note: null } }, 'require_human', 'null-value'],
    ['absent is not null', { topic: 'h.op', payload: {} }, 'deny', null],
    ['path through a scalar', { topic: 'h.op', payload: { a: 'flat' } }, 'deny', null],
    ['job fields', { topic: 'i.op', priority: 'high', tenant: 'acme-eu', submitted_by: 'bot' }, 'allow', 'fields'],
    ['job fields: one differs', { topic: 'i.op', priority: 'normal', tenant: 'acme-eu', submitted_by: 'bot' }, 'deny', null],
    ['labels.<name> for a label named topic', { topic: 'j.op', labels: { topic: 'other' } }, 'allow', 'label-named-topic'],
    ['payload root absent', { topic: 'k.op' }, 'deny', 'payload-root'],
    ['boolean equality', { topic: 'k.op', payload: { dry_run: true } }, 'allow', 'bool'],
    ['boolean is not its string', { topic: 'k.op', payload: { dry_run: 'true' } }, 'deny', null],
    ['payload paths do not reach the prototype', { topic: 'l.op', payload: {} }, 'deny', null],
    ['labels do not reach the prototype', { topic: 'l.op', labels: {} }, 'deny', null],
  ])('%s', (_name, input, decision, ruleId) => {
    const result = evaluateSync(policy, job(input));
    expect([result.decision, result.rule_id]).toEqual([decision, ruleId]);
  });

  it('carries the rule approval block, with its defaults', () => {
    const result = evaluateSync(policy, job({ topic: 'd.op', payload: { amount: 1000 } }));
    expect(result.decision === 'require_human' && result.approval).toEqual({ required: 2, reviewers: [], timeout_ms: 86_400_000, on_timeout: 'reject' });
  });
});

describe('evaluate: first match across the topic index', () => {
  const policy = compile(`
rules:
  - {id: glob-first, when: {topic: "pay.*", env: production}, decision: deny}
  - {id: literal, when: {topic: pay.run}, decision: allow}
  - {id: any-topic, when: {tenant: blocked}, decision: deny}
  - {id: glob-late, when: {topic: "pay.*"}, decision: require_human}
  - {id: regex-topic, when: {topic: {matches: "^zz"}}, decision: deny}
`);

  it.each([
    [{ topic: 'pay.run', labels: { env: 'production' } }, 'glob-first'],
    [{ topic: 'pay.run', tenant: 'blocked' }, 'literal'],
    [{ topic: 'pay.other', tenant: 'blocked' }, 'any-topic'],
    [{ topic: 'pay.other' }, 'glob-late'],
    [{ topic: 'zz.top' }, 'regex-topic'],
    [{ topic: 'elsewhere', tenant: 'blocked' }, 'any-topic'],
    [{ topic: 'elsewhere' }, null],
  ] as const)('%j -> %s', (input, ruleId) => {
    expect(evaluateSync(policy, job(input)).rule_id).toBe(ruleId);
  });

  it('only considers the rules of the job topic', () => {
    expect(policy.candidates('pay.run').map((rule) => rule.id)).toEqual(['glob-first', 'literal', 'any-topic', 'glob-late']);
    expect(policy.candidates('elsewhere').map((rule) => rule.id)).toEqual(['any-topic']);
  });

  it('stays correct when the topic memo is tiny and churns', () => {
    const small = compile(
      `rules:\n  - {id: g, when: {topic: "x.*"}, decision: deny}\n  - {id: l, when: {topic: y}, decision: allow}`,
      1,
    );
    for (let i = 0; i < 3; i++) {
      expect(evaluateSync(small, job({ topic: 'x.a' })).rule_id).toBe('g');
      expect(evaluateSync(small, job({ topic: 'y' })).rule_id).toBe('l');
      expect(evaluateSync(small, job({ topic: 'z' })).rule_id).toBeNull();
    }
  });
});

const THROTTLE_BUNDLE = `
rules:
  - id: burst
    when: {topic: notify}
    decision: throttle
    throttle: {limit: 2, per: 1m, key: tenant}
  - id: per-customer
    when: {topic: notify}
    decision: throttle
    throttle: {limit: 3, per: 10s, key: labels.customer}
  - id: notify
    when: {topic: notify}
    decision: allow
  - id: global
    when: {topic: search}
    decision: throttle
    throttle: {limit: 1, per: 1h}
`;

class AsyncCounter extends ThrottleCounter {
  readonly keys: string[] = [];
  constructor(private readonly inner = new InMemoryThrottleCounter()) {
    super();
  }
  override async hit(key: string, windowMs: number, limit: number, now: number): Promise<ThrottleHit> {
    this.keys.push(key);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return this.inner.hit(key, windowMs, limit, now);
  }
}

describe('evaluate: throttle rules', () => {
  const policy = compile(THROTTLE_BUNDLE);
  const T0 = Date.UTC(2025, 0, 1, 12, 0, 15);

  it('under the limit continues with the next rule; over it throttles with Retry-After', () => {
    const counter = new InMemoryThrottleCounter();
    const request = job({ topic: 'notify', tenant: 'acme', labels: { customer: 'c1' } });
    expect(evaluateSync(policy, request, { counter, now: T0 }).rule_id).toBe('notify');
    expect(evaluateSync(policy, request, { counter, now: T0 + 1000 }).rule_id).toBe('notify');
    expect(evaluateSync(policy, request, { counter, now: T0 + 2000 })).toEqual({
      decision: 'throttle',
      rule_id: 'burst',
      reason: 'more than 2 per 1m by tenant (rule burst)',
      retry_after_seconds: 43, // window 12:00:00-12:01:00, now 12:00:17
    });
  });

  it('counts each key separately and resets with the window', () => {
    const counter = new InMemoryThrottleCounter();
    const acme = job({ topic: 'notify', tenant: 'acme', labels: { customer: 'c1' } });
    const globex = job({ topic: 'notify', tenant: 'globex', labels: { customer: 'c2' } });
    evaluateSync(policy, acme, { counter, now: T0 });
    evaluateSync(policy, acme, { counter, now: T0 });
    expect(evaluateSync(policy, acme, { counter, now: T0 }).decision).toBe('throttle');
    expect(evaluateSync(policy, globex, { counter, now: T0 }).decision).toBe('allow');
    expect(evaluateSync(policy, acme, { counter, now: T0 + 60_000 }).decision).toBe('allow');
  });

  it('reaches a later throttle rule when the earlier one is under its limit', () => {
    const counter = new InMemoryThrottleCounter();
    const now = T0;
    const tenants = ['t1', 't2', 't3', 't4'];
    const results = tenants.map((tenant) => evaluateSync(policy, job({ topic: 'notify', tenant, labels: { customer: 'same' } }), { counter, now }));
    expect(results.map((result) => result.rule_id)).toEqual(['notify', 'notify', 'notify', 'per-customer']);
    expect(results[3].decision === 'throttle' && results[3].retry_after_seconds).toBe(5);
  });

  it('keys counters by rule, key name and value', () => {
    const counter = new AsyncCounter();
    const run = evaluate(policy, job({ topic: 'notify', tenant: 'acme', labels: { customer: 'c1' } }), { counter, now: T0 });
    expect(run).toBeInstanceOf(Promise);
    return Promise.resolve(run).then((result) => {
      expect(result.rule_id).toBe('notify');
      expect(counter.keys).toEqual(['["burst","tenant","acme"]', '["per-customer","labels.customer","c1"]']);
    });
  });

  it('works with an asynchronous counter, including over the limit', async () => {
    const counter = new AsyncCounter();
    const request = job({ topic: 'search' });
    expect(await evaluate(policy, request, { counter, now: T0 })).toEqual({ decision: 'deny', rule_id: null, reason: 'no rule matched; default deny' });
    expect(await evaluate(policy, request, { counter, now: T0 })).toMatchObject({ decision: 'throttle', rule_id: 'global' });
    expect(counter.keys).toEqual(['["global"]', '["global"]']);
  });

  it('refuses to evaluate a matching throttle rule without a counter', () => {
    expect(() => evaluate(policy, job({ topic: 'search' }))).toThrow(PolicyEvaluationError);
    expect(evaluateSync(policy, job({ topic: 'elsewhere' })).decision).toBe('deny');
  });

  it('evaluateSync refuses an asynchronous counter', () => {
    expect(() => evaluateSync(policy, job({ topic: 'search' }), { counter: new AsyncCounter(), now: T0 })).toThrow(PolicyEvaluationError);
  });

  it('reports whether a bundle has throttle rules', () => {
    expect(policy.hasThrottleRules).toBe(true);
    expect(compile(DEFAULT_BUNDLE).hasThrottleRules).toBe(false);
  });
});

describe('InMemoryThrottleCounter', () => {
  it('uses fixed epoch-aligned windows and sweeps ended ones when full', () => {
    const counter = new InMemoryThrottleCounter(2);
    expect(counter.hit('a', 1000, 1, 500)).toEqual({ allowed: true, count: 1, retry_after_seconds: 1 });
    expect(counter.hit('a', 1000, 1, 999)).toEqual({ allowed: false, count: 2, retry_after_seconds: 1 });
    expect(counter.hit('a', 1000, 1, 1000)).toEqual({ allowed: true, count: 1, retry_after_seconds: 1 });
    counter.hit('b', 1000, 1, 1000);
    counter.hit('c', 1000, 1, 5000);
    expect(counter.size).toBe(1);
  });
});
