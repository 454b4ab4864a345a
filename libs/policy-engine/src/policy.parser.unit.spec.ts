import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.util';
import { parsePolicy } from './policy.parser';
import type { PolicyError, PolicyErrorCode } from './policy.types';

function errorsOf(text: string, format?: 'yaml' | 'json'): readonly PolicyError[] {
  const result = parsePolicy(text, format ? { format } : {});
  if (result.ok) throw new Error('expected the bundle to be refused');
  return result.errors;
}

/** A bundle text with `rule` (YAML lines, indented by four) as its only rule, starting at line 4. */
function withRule(...lines: string[]): string {
  return ['version: v1', 'default: deny', 'rules:', ...lines.map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`))].join('\n') + '\n';
}

describe('parsePolicy: valid bundles', { timeout: 30_000 }, () => {
  it('normalizes a bundle: defaults applied, durations canonical, when kept as written', () => {
    const result = parsePolicy(
      withRule('id: pay', 'when: {topic: finance.payment.execute, env: production, payload.amount: {gt: 100}}', 'decision: require_human'),
    );
    expect(result).toEqual({
      ok: true,
      bundle: {
        version: 'v1',
        default: 'deny',
        rules: [
          {
            id: 'pay',
            when: { topic: 'finance.payment.execute', env: 'production', 'payload.amount': { gt: 100 } },
            decision: 'require_human',
            approval: { required: 1, reviewers: [], timeout: '1d', on_timeout: 'reject' },
          },
        ],
      },
    });
  });

  it('defaults to deny and accepts a bundle without rules', () => {
    expect(parsePolicy('version: v1\n')).toEqual({ ok: true, bundle: { version: 'v1', default: 'deny', rules: [] } });
    expect(parsePolicy('default: allow\nrules: []\n')).toEqual({ ok: true, bundle: { version: 'v1', default: 'allow', rules: [] } });
  });

  it('treats a rule without when as matching every job', () => {
    const result = parsePolicy(withRule('id: all', 'decision: deny'));
    expect(result.ok && result.bundle.rules[0].when).toEqual({});
  });

  it('normalizes approval and throttle blocks', () => {
    const text = [
      'rules:',
      '  - {id: a, decision: require_human, approval: {required: 2, reviewers: [finance], timeout: 1800s}}',
      '  - {id: t, decision: throttle, throttle: {limit: 5, per: 60s, key: labels.customer}}',
      '  - {id: g, decision: throttle, throttle: {limit: 1, per: 24h}}',
    ].join('\n');
    const result = parsePolicy(text);
    expect(result.ok && result.bundle.rules).toEqual([
      { id: 'a', when: {}, decision: 'require_human', approval: { required: 2, reviewers: ['finance'], timeout: '30m', on_timeout: 'reject' } },
      { id: 't', when: {}, decision: 'throttle', throttle: { limit: 5, per: '1m', key: 'labels.customer' } },
      { id: 'g', when: {}, decision: 'throttle', throttle: { limit: 1, per: '1d' } },
    ]);
  });

  it('reads JSON bundles (YAML includes JSON) and strict JSON when asked', () => {
    const json = JSON.stringify({ version: 'v1', rules: [{ id: 'r', when: { topic: 'knowledge.read' }, decision: 'allow' }] }, null, 2);
    const yaml = 'version: v1\nrules:\n  - id: r\n    when:\n      topic: knowledge.read\n    decision: allow\n';
    const fromJson = parsePolicy(json, { format: 'json' });
    expect(fromJson.ok).toBe(true);
    expect(fromJson).toEqual(parsePolicy(yaml));
    expect(parsePolicy(json)).toEqual(fromJson);
  });

  it('round-trips: the normalized bundle, as JSON, parses to itself', () => {
    const first = parsePolicy(
      withRule('id: x', 'description: d', 'when: {topic: "a.*", env: [prod, stage], payload.n: {gte: 1, lt: 5}}', 'decision: require_human', 'approval: {timeout: 90m}'),
    );
    if (!first.ok) throw new Error('bundle should be valid');
    expect(parsePolicy(JSON.stringify(first.bundle), { format: 'json' })).toEqual(first);
  });

  it('resolves YAML anchors and aliases to the values they stand for', () => {
    const shared = [
      'x-approval: &finance {required: 2, reviewers: [finance-approver], timeout: 30m}',
      'rules:',
      '  - {id: a, when: {topic: pay.a}, decision: require_human, approval: *finance}',
      '  - {id: b, when: {topic: pay.b}, decision: require_human, approval: *finance}',
    ].join('\n');
    const spelled = [
      'rules:',
      '  - {id: a, when: {topic: pay.a}, decision: require_human, approval: {required: 2, reviewers: [finance-approver], timeout: 30m}}',
      '  - {id: b, when: {topic: pay.b}, decision: require_human, approval: {required: 2, reviewers: [finance-approver], timeout: 30m}}',
    ].join('\n');
    // `x-approval` is not a bundle key: anchors must live inside the bundle's own structure.
    expect(errorsOf(shared).map((e) => [e.code, e.path])).toEqual([['unknown_key', 'x-approval']]);
    const inside = spelled.replace('approval: {required: 2, reviewers: [finance-approver], timeout: 30m}}\n', 'approval: &finance {required: 2, reviewers: [finance-approver], timeout: 30m}}\n');
    const aliased = inside.replace(/(id: b.*approval: )\{required: 2, reviewers: \[finance-approver\], timeout: 30m\}/, '$1*finance');
    expect(aliased).toContain('*finance');
    expect(parsePolicy(aliased)).toEqual(parsePolicy(spelled));
  });

  it('reads per-rule redact paths and refuses malformed ones with their position', () => {
    const ok = parsePolicy(withRule('id: pay', 'when: {topic: finance.payment.execute}', 'decision: allow', 'redact: [payload.card_number, labels.ssn, payload.cards.*.number]'));
    expect(ok.ok && ok.bundle.rules[0].redact).toEqual(['payload.card_number', 'labels.ssn', 'payload.cards.*.number']);
    const errors = errorsOf(withRule('id: pay', 'decision: allow', 'redact: [payload.card_number, job_hash]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'invalid_value', path: 'rules[0].redact[1]', line: 6 });
    expect(errors[0].column).toBeGreaterThan(0);
  });

  it('keeps a condition on a label named __proto__ (it must not vanish into the prototype)', () => {
    const result = parsePolicy(withRule('id: a', 'when: {__proto__: x, env: prod}', 'decision: allow'));
    expect(result.ok && Object.keys(result.bundle.rules[0].when)).toEqual(['__proto__', 'env']);
  });

  it('refuses alias expansion bombs with a position', () => {
    const lines = ['rules:', '  - id: a', '    decision: deny', '    when:', '      env: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    const bomb = ['l1: &l1 [' + Array(10).fill('*l0').join(', ') + ']'];
    const text = [...lines, ...Array.from({ length: 60 }, (_, i) => `      k${i}: {in: *l0}`), ...bomb.map((line) => `      ${line}`)].join('\n');
    const withMany = text + '\n' + Array.from({ length: 1000 }, (_, i) => `      m${i}: *l0`).join('\n');
    const errors = errorsOf(withMany);
    expect(errors).toContainEqual(expect.objectContaining({ code: 'unsupported_yaml', message: 'more than 1000 alias uses in one document' }));
    expect(errors.every((e) => e.line >= 1 && e.column >= 1)).toBe(true);
  });

  it.each([
    ['90s', 90_000, '90s'],
    ['30m', 1_800_000, '30m'],
    ['24h', 86_400_000, '1d'],
    ['7d', 604_800_000, '7d'],
    ['1800s', 1_800_000, '30m'],
    ['1500ms', 1_500, '1500ms'],
    ['365d', 31_536_000_000, '365d'],
  ])('duration %s is %i ms, canonically %s', (text, ms, canonical) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(canonical);
  });

  it.each(['(a+)+', '^(\\w*)*$', '(x+y){2,}', '((ab)*c)+', '(?:a|b)+', '(\\d{4})-(\\d{2})', '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$', '^(.*a){8}$', '(a|aa)+$'])(
    'accepts %s: matches runs on RE2, in linear time, so nested quantifiers are harmless',
    (pattern) => {
      expect(parsePolicy(withRule('id: a', `when: {env: {matches: ${JSON.stringify(pattern)}}}`, 'decision: deny')).ok).toBe(true);
    },
  );

  it.each(['30', '30 m', '1w', '0m', '-5m', '1.5h', 'm', '', '366d', '030m', '30M'])('refuses duration %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

interface ErrorCase {
  readonly name: string;
  readonly text: string;
  readonly format?: 'json';
  readonly code: PolicyErrorCode;
  readonly line: number;
  readonly column: number;
  readonly path: string;
}

const ERROR_CASES: readonly ErrorCase[] = [
  { name: 'YAML syntax', text: 'version: v1\nrules: [\n  {id: a\n', code: 'syntax', line: 4, column: 1, path: '' },
  { name: 'JSON syntax in strict JSON mode', text: '{\n  "version": "v1",\n  "rules": [,]\n}', format: 'json', code: 'syntax', line: 3, column: 13, path: '' },
  { name: 'duplicate YAML key', text: 'version: v1\nversion: v1\n', code: 'syntax', line: 2, column: 1, path: '' },
  { name: 'unknown YAML tag', text: 'version: !custom v1\n', code: 'unsupported_yaml', line: 1, column: 10, path: '' },
  { name: 'alias without an anchor', text: withRule('id: a', 'when: *nowhere', 'decision: allow'), code: 'unsupported_yaml', line: 5, column: 11, path: '' },
  { name: 'empty document', text: '# nothing\n', code: 'invalid_type', line: 1, column: 1, path: '' },
  { name: 'bundle is not a mapping', text: '- a\n- b\n', code: 'invalid_type', line: 1, column: 1, path: '' },
  { name: 'rules is not a list', text: 'rules:\n  id: a\n', code: 'invalid_type', line: 2, column: 3, path: 'rules' },
  { name: 'rule is not a mapping', text: 'rules:\n  - allow\n', code: 'invalid_type', line: 2, column: 5, path: 'rules[0]' },
  { name: 'unknown bundle key', text: 'version: v1\nrulez: []\n', code: 'unknown_key', line: 2, column: 1, path: 'rulez' },
  { name: 'unknown rule key', text: withRule('id: a', 'decision: allow', 'priority: 3'), code: 'unknown_key', line: 6, column: 5, path: 'rules[0].priority' },
  { name: 'missing id', text: withRule('decision: allow'), code: 'missing_key', line: 4, column: 5, path: 'rules[0]' },
  { name: 'missing decision', text: withRule('id: a', 'when: {topic: x}'), code: 'missing_key', line: 4, column: 5, path: 'rules[0]' },
  { name: 'rule id not a string', text: withRule('id: [a]', 'decision: allow'), code: 'invalid_type', line: 4, column: 9, path: 'rules[0].id' },
  { name: 'rule id with spaces', text: withRule('id: my rule', 'decision: allow'), code: 'invalid_value', line: 4, column: 9, path: 'rules[0].id' },
  { name: 'unsupported version', text: 'version: v2\n', code: 'invalid_value', line: 1, column: 10, path: 'version' },
  { name: 'unknown decision', text: withRule('id: a', 'decision: approve'), code: 'unknown_decision', line: 5, column: 15, path: 'rules[0].decision' },
  { name: 'unknown default', text: 'default: maybe\n', code: 'unknown_decision', line: 1, column: 10, path: 'default' },
  { name: 'default that is not allow/deny', text: 'default: require_human\n', code: 'invalid_value', line: 1, column: 10, path: 'default' },
  { name: 'unknown operator', text: withRule('id: a', 'when: {amount: {greater: 5}}', 'decision: deny'), code: 'unknown_operator', line: 5, column: 21, path: 'rules[0].when.amount.greater' },
  { name: 'empty operator object', text: withRule('id: a', 'when: {env: {}}', 'decision: deny'), code: 'invalid_value', line: 5, column: 17, path: 'rules[0].when.env' },
  { name: 'empty list', text: withRule('id: a', 'when: {env: []}', 'decision: deny'), code: 'invalid_value', line: 5, column: 17, path: 'rules[0].when.env' },
  { name: 'nested list', text: withRule('id: a', 'when: {env: [[a]]}', 'decision: deny'), code: 'invalid_type', line: 5, column: 18, path: 'rules[0].when.env[0]' },
  { name: 'label compared to a number', text: withRule('id: a', 'when: {env: 1}', 'decision: deny'), code: 'invalid_type', line: 5, column: 17, path: 'rules[0].when.env' },
  { name: 'topic compared to a boolean', text: withRule('id: a', 'when:', '  topic: true', 'decision: deny'), code: 'invalid_type', line: 6, column: 14, path: 'rules[0].when.topic' },
  { name: 'condition without a value', text: withRule('id: a', 'when:', '  env:', 'decision: deny'), code: 'invalid_value', line: 6, column: 7, path: 'rules[0].when.env' },
  { name: 'bad payload path', text: withRule('id: a', 'when: {payload..amount: 1}', 'decision: deny'), code: 'invalid_value', line: 5, column: 12, path: 'rules[0].when.payload..amount' },
  { name: 'gt without a number', text: withRule('id: a', 'when: {payload.n: {gt: "5"}}', 'decision: deny'), code: 'invalid_value', line: 5, column: 28, path: 'rules[0].when.payload.n.gt' },
  { name: 'exists without a boolean', text: withRule('id: a', 'when: {env: {exists: yes}}', 'decision: deny'), code: 'invalid_value', line: 5, column: 26, path: 'rules[0].when.env.exists' },
  { name: 'invalid regex', text: withRule('id: a', 'when: {env: {matches: "prod("}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex with a backreference', text: withRule('id: a', 'when: {env: {matches: "(a)\\\\1"}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex with a lookahead', text: withRule('id: a', 'when: {env: {matches: "^(?=prod)"}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex with a lookbehind', text: withRule('id: a', 'when: {env: {matches: "(?<!pre)prod"}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex too complex for RE2 limits', text: withRule('id: a', 'when: {env: {matches: "(a|b){1000}"}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex too long', text: withRule('id: a', `when: {env: {matches: "${'a'.repeat(1025)}"}}`, 'decision: deny'), code: 'invalid_regex', line: 5, column: 27, path: 'rules[0].when.env.matches' },
  { name: 'regex that is not a string', text: withRule('id: a', 'when: {payload.n: {matches: 5}}', 'decision: deny'), code: 'invalid_regex', line: 5, column: 33, path: 'rules[0].when.payload.n.matches' },
  { name: 'bad approval timeout', text: withRule('id: a', 'decision: require_human', 'approval: {timeout: 30x}'), code: 'invalid_duration', line: 6, column: 25, path: 'rules[0].approval.timeout' },
  { name: 'approval timeout without unit', text: withRule('id: a', 'decision: require_human', 'approval: {timeout: 30}'), code: 'invalid_duration', line: 6, column: 25, path: 'rules[0].approval.timeout' },
  { name: 'approval required 0', text: withRule('id: a', 'decision: require_human', 'approval: {required: 0}'), code: 'invalid_approval', line: 6, column: 26, path: 'rules[0].approval.required' },
  { name: 'approval required not an integer', text: withRule('id: a', 'decision: require_human', 'approval: {required: 1.5}'), code: 'invalid_approval', line: 6, column: 26, path: 'rules[0].approval.required' },
  { name: 'approval required as a string', text: withRule('id: a', 'decision: require_human', 'approval: {required: "2"}'), code: 'invalid_approval', line: 6, column: 26, path: 'rules[0].approval.required' },
  { name: 'reviewers not a list', text: withRule('id: a', 'decision: require_human', 'approval: {reviewers: finance}'), code: 'invalid_type', line: 6, column: 27, path: 'rules[0].approval.reviewers' },
  { name: 'reviewer not a string', text: withRule('id: a', 'decision: require_human', 'approval: {reviewers: [finance, 7]}'), code: 'invalid_approval', line: 6, column: 37, path: 'rules[0].approval.reviewers[1]' },
  { name: 'on_timeout other than reject', text: withRule('id: a', 'decision: require_human', 'approval: {on_timeout: approve}'), code: 'invalid_approval', line: 6, column: 28, path: 'rules[0].approval.on_timeout' },
  { name: 'unknown approval key', text: withRule('id: a', 'decision: require_human', 'approval: {quorum: 2}'), code: 'unknown_key', line: 6, column: 16, path: 'rules[0].approval.quorum' },
  { name: 'approval on an allow rule', text: withRule('id: a', 'decision: allow', 'approval: {required: 2}'), code: 'invalid_approval', line: 6, column: 5, path: 'rules[0].approval' },
  { name: 'throttle rule without throttle', text: withRule('id: a', 'decision: throttle'), code: 'invalid_throttle', line: 5, column: 15, path: 'rules[0].throttle' },
  { name: 'throttle limit 0', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 0, per: 1m}'), code: 'invalid_throttle', line: 6, column: 23, path: 'rules[0].throttle.limit' },
  { name: 'throttle limit not an integer', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 2.5, per: 1m}'), code: 'invalid_throttle', line: 6, column: 23, path: 'rules[0].throttle.limit' },
  { name: 'throttle without limit', text: withRule('id: a', 'decision: throttle', 'throttle: {per: 1m}'), code: 'invalid_throttle', line: 6, column: 15, path: 'rules[0].throttle' },
  { name: 'throttle without per', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 3}'), code: 'invalid_throttle', line: 6, column: 15, path: 'rules[0].throttle' },
  { name: 'throttle bad per', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 3, per: 1w}'), code: 'invalid_duration', line: 6, column: 31, path: 'rules[0].throttle.per' },
  { name: 'throttle bad key', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 3, per: 1m, key: tennant}'), code: 'invalid_throttle', line: 6, column: 40, path: 'rules[0].throttle.key' },
  { name: 'throttle empty label key', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 3, per: 1m, key: labels.}'), code: 'invalid_throttle', line: 6, column: 40, path: 'rules[0].throttle.key' },
  { name: 'unknown throttle key', text: withRule('id: a', 'decision: throttle', 'throttle: {limit: 3, per: 1m, burst: 2}'), code: 'unknown_key', line: 6, column: 35, path: 'rules[0].throttle.burst' },
  { name: 'throttle on a deny rule', text: withRule('id: a', 'decision: deny', 'throttle: {limit: 3, per: 1m}'), code: 'invalid_throttle', line: 6, column: 5, path: 'rules[0].throttle' },
  {
    name: 'duplicate rule id',
    text: withRule('id: same', 'decision: allow').replace(/\n$/, '\n  - id: same\n    decision: deny\n'),
    code: 'duplicate_rule_id',
    line: 6,
    column: 9,
    path: 'rules[1].id',
  },
  {
    name: 'error inside a JSON bundle',
    text: '{\n  "rules": [\n    {"id": "a", "decision": "allow",\n     "approval": {"required": 2}}\n  ]\n}',
    format: 'json',
    code: 'invalid_approval',
    line: 4,
    column: 6,
    path: 'rules[0].approval',
  },
];

describe('parsePolicy: every validation error has a position', { timeout: 30_000 }, () => {
  it.each(ERROR_CASES.map((c) => [c.name, c] as const))('%s', (_name, errorCase) => {
    const errors = errorsOf(errorCase.text, errorCase.format);
    expect(errors).toContainEqual(
      expect.objectContaining({ code: errorCase.code, line: errorCase.line, column: errorCase.column, path: errorCase.path }),
    );
    for (const error of errors) {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.column).toBeGreaterThanOrEqual(1);
      expect(error.message.length).toBeGreaterThan(0);
      expect(typeof error.path).toBe('string');
    }
  });

  it('covers every error code', () => {
    const codes = new Set(ERROR_CASES.map((c) => c.code));
    const all: PolicyErrorCode[] = [
      'syntax',
      'unsupported_yaml',
      'invalid_type',
      'unknown_key',
      'missing_key',
      'invalid_value',
      'unknown_decision',
      'unknown_operator',
      'duplicate_rule_id',
      'invalid_duration',
      'invalid_regex',
      'invalid_approval',
      'invalid_throttle',
    ];
    expect([...codes].sort()).toEqual([...all].sort());
  });

  it('names the first definition of a duplicate rule id', () => {
    const errors = errorsOf(withRule('id: same', 'decision: allow').replace(/\n$/, '\n  - id: same\n    decision: deny\n'));
    expect(errors[0].message).toContain('first defined at line 4');
  });

  it('reports every error of a bundle, in document order, not only the first', () => {
    const text = [
      'version: v1',
      'default: maybe',
      'rules:',
      '  - id: a',
      '    when: {env: {near: x}, payload.re: {matches: "("}}',
      '    decision: alow',
      '  - id: a',
      '    decision: require_human',
      '    approval: {required: 0, timeout: 1w, on_timeout: approve}',
      '  - id: t',
      '    decision: throttle',
      '    throttle: {limit: -1, per: 1m, key: tennant}',
    ].join('\n');
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.code, e.line, e.column])).toEqual([
      ['unknown_decision', 2, 10],
      ['unknown_operator', 5, 18],
      ['invalid_regex', 5, 50],
      ['unknown_decision', 6, 15],
      ['duplicate_rule_id', 7, 9],
      ['invalid_approval', 9, 26],
      ['invalid_duration', 9, 38],
      ['invalid_approval', 9, 54],
      ['invalid_throttle', 12, 23],
      ['invalid_throttle', 12, 41],
    ]);
  });

  it('never throws and always positions errors inside the text, whatever the document (fuzz)', () => {
    const anyDocument = fc.oneof(
      fc.jsonValue().map((value) => stringify(value)),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 200 }),
      fc
        .record({
          id: fc.oneof(fc.string(), fc.integer()),
          decision: fc.constantFrom('allow', 'deny', 'throttle', 'require_human', 'nope', 3),
          when: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })),
          approval: fc.jsonValue({ maxDepth: 2 }),
          throttle: fc.jsonValue({ maxDepth: 2 }),
        })
        .map((rule) => stringify({ version: 'v1', rules: [rule] })),
    );
    fc.assert(
      fc.property(anyDocument, (text) => {
        const result = parsePolicy(text);
        if (result.ok) return;
        const lines = text.split(/\r\n|\r|\n/).length;
        expect(result.errors.length).toBeGreaterThan(0);
        for (const error of result.errors) {
          expect(error.line).toBeGreaterThanOrEqual(1);
          expect(error.line).toBeLessThanOrEqual(lines);
          expect(error.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 400 },
    );
  });
});
