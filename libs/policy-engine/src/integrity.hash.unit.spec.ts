import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRequest } from '@signoff/contracts';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { canonicalJson, jobHash, normalizeJobRequest, NotCanonicalJsonError, policySnapshot } from './integrity.hash';
import { parsePolicy } from './policy.parser';
import type { PolicyBundle } from './policy.types';

const HASH = /^sha256:[0-9a-f]{64}$/;

function snapshotOf(text: string, format?: 'json'): string {
  const parsed = parsePolicy(text, format ? { format } : {});
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return policySnapshot(parsed.bundle);
}

/** The same JSON value with every object's keys in a seeded random order. */
function shuffleKeys(value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, random));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    // defineProperty, as JSON.parse does: an own `__proto__` key stays a member.
    Object.defineProperty(out, key, { value: shuffleKeys((value as Record<string, unknown>)[key], random), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

const labelsArb = fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), { maxKeys: 6 });
const jobArb: fc.Arbitrary<JobRequest> = fc.record({
  topic: fc.string({ minLength: 1, maxLength: 30 }),
  priority: fc.string({ maxLength: 10 }),
  tenant: fc.string({ maxLength: 10 }),
  submitted_by: fc.string({ maxLength: 10 }),
  labels: labelsArb,
  payload: fc.jsonValue({ maxDepth: 4 }),
});

describe('jobHash', { timeout: 30_000 }, () => {
  const example: JobRequest = {
    topic: 'finance.payment.execute',
    priority: 'high',
    tenant: 'default',
    submitted_by: 'agent-1',
    labels: { env: 'production' },
    payload: { currency: 'EUR', amount: 1250 },
  };

  it('is sha256 over the RFC 8785 form of exactly the six request fields', () => {
    const canonical =
      '{"labels":{"env":"production"},"payload":{"amount":1250,"currency":"EUR"},"priority":"high","submitted_by":"agent-1","tenant":"default","topic":"finance.payment.execute"}';
    expect(jobHash(example)).toBe('sha256:' + createHash('sha256').update(canonical).digest('hex'));
    // Pinned, so a change of canonicalization (which would break stored approvals) cannot pass unnoticed.
    expect(jobHash(example)).toBe('sha256:e4356387aaf1c2682750e1631c596fa371cf3e8cdfebeffe0e4a31fe7fd3f97d');
  });

  it('ignores members outside the six fields', () => {
    expect(jobHash({ ...example, job_id: 'j-1', approval_granted: true } as JobRequest)).toBe(jobHash(example));
  });

  it('canonicalizes numbers per RFC 8785 (ES number serialization)', () => {
    const a = { ...example, payload: { amount: 1e21, ratio: 0.1, exact: 100.0 } };
    expect(canonicalJson(a.payload)).toBe('{"amount":1e+21,"exact":100,"ratio":0.1}');
  });

  it('never changes with key order (property)', () => {
    fc.assert(
      fc.property(jobArb, fc.integer(), (request, seed) => {
        expect(jobHash(shuffleKeys(request, seeded(seed)) as JobRequest)).toBe(jobHash(request));
      }),
      { numRuns: 300 },
    );
  });

  it('never changes with the whitespace of the JSON it came from (property)', () => {
    const indent = fc.constantFrom('', ' ', '\t', '\n', '  ', '\r\n', ' \t');
    fc.assert(
      fc.property(jobArb, indent, fc.integer(), (request, space, seed) => {
        const text = JSON.stringify(shuffleKeys(request, seeded(seed)), null, space);
        expect(jobHash(JSON.parse(text) as JobRequest)).toBe(jobHash(request));
      }),
      { numRuns: 300 },
    );
  });

  it('always changes when any hashed field changes (property)', () => {
    const field = fc.constantFrom('topic', 'priority', 'tenant', 'submitted_by', 'labels', 'payload');
    const anyValue = fc.record({ text: fc.string({ maxLength: 30 }), labels: labelsArb, payload: fc.jsonValue({ maxDepth: 4 }) });
    fc.assert(
      fc.property(jobArb, field, anyValue, (request, key, values) => {
        const replacement = key === 'labels' ? values.labels : key === 'payload' ? values.payload : values.text;
        fc.pre(canonicalJson(replacement) !== canonicalJson(request[key]));
        const changed = { ...request, [key]: replacement } as JobRequest;
        expect(jobHash(changed)).toMatch(HASH);
        expect(jobHash(changed)).not.toBe(jobHash(request));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps field boundaries: moving characters between fields changes the hash (property)', () => {
    fc.assert(
      fc.property(jobArb, fc.string({ minLength: 1, maxLength: 5 }), (request, moved) => {
        const a = { ...request, topic: request.topic + moved };
        const b = { ...request, priority: moved + request.priority };
        expect(jobHash(a)).not.toBe(jobHash(b));
      }),
    );
  });

  it.each([
    ['a label moved into the payload', { labels: {}, payload: { env: 'production' } }],
    ['a number that became a string', { payload: { currency: 'EUR', amount: '1250' } }],
    ['null payload', { payload: null }],
    ['an array instead of an object', { payload: [['currency', 'EUR'], ['amount', 1250]] }],
    ['an empty label value', { labels: { env: 'production', extra: '' } }],
  ])('changes with %s', (_name, patch) => {
    expect(jobHash({ ...example, ...patch } as JobRequest)).not.toBe(jobHash(example));
  });
});

describe('normalizeJobRequest', () => {
  it('applies the documented defaults', () => {
    expect(normalizeJobRequest({ topic: 't', submitted_by: 'u' })).toEqual({
      topic: 't',
      priority: 'normal',
      tenant: 'default',
      submitted_by: 'u',
      labels: {},
      payload: null,
    });
  });

  it('hashes an HTTP body and the equivalent Kafka message identically', () => {
    const http = { job_id: 'j-1', topic: 'customer.notify', labels: { channel: 'external' } };
    const kafka = {
      job_id: 'j-1',
      topic: 'customer.notify',
      priority: 'normal',
      tenant: 'default',
      labels: { channel: 'external' },
      payload: null,
      submitted_by: 'agent-7',
    };
    expect(jobHash(normalizeJobRequest({ ...http, submitted_by: 'agent-7' }))).toBe(jobHash(normalizeJobRequest(kafka)));
  });

  it('keeps present values, even empty ones, and keeps payload false/0 as they are', () => {
    expect(normalizeJobRequest({ topic: 't', submitted_by: 'u', priority: '', payload: 0 })).toMatchObject({ priority: '', payload: 0 });
    expect(jobHash(normalizeJobRequest({ topic: 't', submitted_by: 'u', payload: false }))).not.toBe(
      jobHash(normalizeJobRequest({ topic: 't', submitted_by: 'u' })),
    );
  });

  it('hashes an undefined payload as null, the same as the normalized request', () => {
    const raw = { topic: 't', priority: 'normal', tenant: 'default', submitted_by: 'u', labels: {}, payload: undefined };
    expect(jobHash(raw)).toBe(jobHash(normalizeJobRequest(raw)));
  });
});

const DEFAULT_YAML = readFileSync(join(__dirname, '../../../policies/default.yaml'), 'utf8');

describe('policySnapshot', { timeout: 30_000 }, () => {
  const reference = snapshotOf(DEFAULT_YAML);

  it('is a sha256 over the canonical JSON of the normalized bundle', () => {
    const parsed = parsePolicy(DEFAULT_YAML);
    if (!parsed.ok) throw new Error('default bundle must be valid');
    expect(reference).toMatch(HASH);
    expect(reference).toBe('sha256:' + createHash('sha256').update(canonicalJson(parsed.bundle)).digest('hex'));
  });

  it.each([
    [
      'flow style without comments, keys reordered',
      `rules: [{decision: allow, when: {topic: knowledge.read}, id: allow-readonly, description: Read-only knowledge lookups run without review},
 {id: require-approval-prod-finance, description: Payments in production need a human, decision: require_human, when: {env: production, topic: finance.payment.execute}},
 {decision: require_human, id: require-approval-external-notify, description: Messages to customers on external channels need a human, when: {channel: external, topic: customer.notify}}]
version: v1`,
    ],
    [
      'defaults spelled out, four-space indent, quoted strings',
      `"version": "v1"
"default": "deny"
"rules":
    -   "id": "allow-readonly"
        "description": "Read-only knowledge lookups run without review"
        "when": {"topic": "knowledge.read"}
        "decision": "allow"
    -   "id": "require-approval-prod-finance"
        "description": "Payments in production need a human"
        "when": {"topic": "finance.payment.execute", "env": "production"}
        "decision": "require_human"
        "approval": {"required": 1, "reviewers": [], "timeout": "24h", "on_timeout": "reject"}
    -   "id": "require-approval-external-notify"
        "description": "Messages to customers on external channels need a human"
        "when": {"topic": "customer.notify", "channel": "external"}
        "decision": "require_human"
        "approval": {"timeout": "1440m"}
`,
    ],
  ])('does not change with formatting: %s', (_name, text) => {
    expect(snapshotOf(text)).toBe(reference);
  });

  it('does not change when the bundle is given as JSON', () => {
    const parsed = parsePolicy(DEFAULT_YAML);
    if (!parsed.ok) throw new Error('default bundle must be valid');
    expect(snapshotOf(JSON.stringify(parsed.bundle, null, 2), 'json')).toBe(reference);
  });

  it.each([
    ['a reordered rule list', (text: string) => text.replace(/(  - id: allow-readonly[\s\S]*?decision: allow\n)\n([\s\S]*)$/, '$2\n$1')],
    ['another label value', (text: string) => text.replace('env: production', 'env: prod')],
    ['another decision', (text: string) => text.replace('decision: allow', 'decision: deny')],
    ['another default', (text: string) => text.replace('default: deny', 'default: allow')],
    ['an approval block', (text: string) => text.replace('channel: external            # the label `channel`', 'channel: external\n    approval: {required: 2}')],
    ['a renamed rule', (text: string) => text.replace('id: allow-readonly', 'id: allow-read-only')],
    ['a new description', (text: string) => text.replace('Payments in production need a human', 'Production payments need a human')],
  ])('changes with %s', (_name, edit) => {
    const edited = edit(DEFAULT_YAML);
    expect(edited).not.toBe(DEFAULT_YAML);
    expect(snapshotOf(edited)).not.toBe(reference);
  });

  const ruleArb = fc.record({
    id: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
    when: fc.record(
      {
        topic: fc.oneof(fc.stringMatching(/^[a-z]{1,6}(\.[a-z]{1,6}){0,2}$/), fc.constant('finance.*')),
        env: fc.oneof(fc.constantFrom('production', 'staging'), fc.constant(['dev', 'test'])),
        'payload.amount': fc.record({ gt: fc.integer({ min: 0, max: 10_000 }) }),
      },
      { requiredKeys: [] },
    ),
    decision: fc.constantFrom('allow', 'deny', 'require_human'),
  });
  const bundleArb = fc
    .record({ default: fc.constantFrom('allow', 'deny'), rules: fc.uniqueArray(ruleArb, { selector: (rule) => rule.id, maxLength: 6 }) })
    .map((draft) => ({ version: 'v1', ...draft }));

  function render(draft: object, style: number, seed: number): string {
    const shuffled = shuffleKeys(draft, seeded(seed));
    switch (style) {
      case 0:
        return stringify(shuffled);
      case 1:
        return stringify(shuffled, { indent: 4, indentSeq: false });
      case 2:
        return stringify(shuffled, { collectionStyle: 'flow' });
      case 3:
        return JSON.stringify(shuffled, null, 3);
      default:
        return stringify(shuffled, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' })
          .split('\n')
          .map((line) => (line.trim() === '' ? line : `${line} # comment`))
          .join('\n');
    }
  }

  it('never changes with key order, indentation, flow/block style, quoting, comments or JSON (property)', () => {
    fc.assert(
      fc.property(bundleArb, fc.integer({ min: 0, max: 4 }), fc.integer(), (draft, style, seed) => {
        expect(snapshotOf(render(draft, style, seed))).toBe(snapshotOf(stringify(draft)));
      }),
      { numRuns: 300 },
    );
  });

  it('always changes when a rule or the default changes (property)', () => {
    const edit = fc.constantFrom('decision', 'id', 'when', 'order', 'default', 'drop');
    fc.assert(
      fc.property(bundleArb, edit, (draft, kind) => {
        fc.pre(draft.rules.length >= 2);
        const rules = draft.rules.map((rule) => ({ ...rule, when: { ...rule.when } }));
        let changed: object;
        switch (kind) {
          case 'decision':
            rules[0].decision = rules[0].decision === 'allow' ? 'deny' : 'allow';
            changed = { ...draft, rules };
            break;
          case 'id':
            rules[0].id = `${rules[0].id}-x`;
            fc.pre(!rules.slice(1).some((rule) => rule.id === rules[0].id));
            changed = { ...draft, rules };
            break;
          case 'when':
            rules[1].when = { ...rules[1].when, region: 'eu' } as typeof rules[1]['when'];
            changed = { ...draft, rules };
            break;
          case 'order':
            changed = { ...draft, rules: [rules[1], rules[0], ...rules.slice(2)] };
            break;
          case 'default':
            changed = { ...draft, default: draft.default === 'allow' ? 'deny' : 'allow' };
            break;
          default:
            changed = { ...draft, rules: rules.slice(1) };
        }
        expect(snapshotOf(stringify(changed))).not.toBe(snapshotOf(stringify(draft)));
      }),
      { numRuns: 300 },
    );
  });

  it('equals the hash of the canonical bundle object itself (what PolicyActivated stores)', () => {
    const parsed = parsePolicy(DEFAULT_YAML);
    if (!parsed.ok) throw new Error('default bundle must be valid');
    const fromEvent = JSON.parse(JSON.stringify(parsed.bundle)) as PolicyBundle;
    expect(policySnapshot(fromEvent)).toBe(reference);
  });
});

describe('values without an RFC 8785 form', () => {
  it('throw the typed NotCanonicalJsonError, not a generic Error', () => {
    const request = normalizeJobRequest({ topic: 't', submitted_by: 'a', payload: { n: JSON.parse('1e400') as number } });
    for (const value of [Infinity, -Infinity, NaN, { n: Infinity }, [1, NaN], undefined]) {
      expect(() => canonicalJson(value)).toThrow(NotCanonicalJsonError);
    }
    expect(() => jobHash(request)).toThrow(NotCanonicalJsonError);
    const error = (() => {
      try {
        jobHash(request);
      } catch (e) {
        return e as NotCanonicalJsonError;
      }
      return null;
    })();
    expect(error?.code).toBe('not_canonical_json');
  });
});
