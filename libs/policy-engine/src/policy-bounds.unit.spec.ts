import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalJson, policySnapshot } from './integrity.hash';
import { MAX_POLICY_JSON_BYTES, MAX_POLICY_RULES, parsePolicy, parseStoredPolicy } from './policy.parser';
import type { PolicyError } from './policy.types';
import { syntheticPolicy } from './testing/synthetic-policy.fixture';
import { MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_LENGTH, MAX_DOCUMENT_NODES, MAX_EXPANDED_SIZE } from './yaml-source.reader';
import { aliasBomb, storedAliasBomb } from '../../../test/support/cpu';

function refusal(text: string): { errors: readonly PolicyError[]; ms: number } {
  const started = performance.now();
  const result = parsePolicy(text);
  const ms = performance.now() - started;
  if (result.ok) throw new Error('expected the bundle to be refused');
  return { errors: result.errors, ms };
}

describe('policy bundles are bounded before they can cost seconds', { timeout: 30_000 }, () => {
  it('refuses the 68 KB alias bomb that expanded to 13.8 MB (too_large), quickly', () => {
    const { errors, ms } = refusal(aliasBomb());
    expect(errors).toEqual([expect.objectContaining({ code: 'too_large', line: 1, column: 1, path: '' })]);
    expect(errors[0].message).toContain(`at most ${MAX_EXPANDED_SIZE}`);
    expect(ms).toBeLessThan(1000);
  });

  it('refuses an alias inside its own anchor and exponential aliasing', () => {
    expect(refusal('version: v1\nrules: &r\n  - *r\n').errors[0]).toMatchObject({ code: 'too_large' });
    const layers = Array.from({ length: 8 }, (_, i) => `  d${i + 1}: &d${i + 1} [*d${i}, *d${i}, *d${i}, *d${i}, *d${i}, *d${i}, *d${i}, *d${i}, *d${i}, *d${i}]`);
    const laughs = `version: v1\nrules:\n  - id: a\n    decision: deny\n    when: {tenant: &d0 [a, b, c, d, e, f, g, h, i, j]}\n  - id: b\n    decision: deny\n    when:\n${layers.map((l) => `    ${l}`).join('\n')}\n`;
    expect(refusal(laughs).errors[0]).toMatchObject({ code: 'too_large' });
  });

  it('still reads anchors and aliases that share a block', () => {
    const text = 'version: v1\nrules:\n  - id: a\n    when: &prod {env: production}\n    decision: deny\n  - id: b\n    when: *prod\n    decision: allow\n';
    const parsed = parsePolicy(text);
    expect(parsed.ok && parsed.bundle.rules.map((rule) => rule.when)).toEqual([{ env: 'production' }, { env: 'production' }]);
  });

  it(`refuses more than ${MAX_POLICY_RULES} rules at the rules key`, () => {
    const rules = Array.from({ length: MAX_POLICY_RULES + 1 }, (_, i) => `  - {id: r${i}, decision: deny}`);
    const { errors } = refusal(`version: v1\nrules:\n${rules.join('\n')}\n`);
    expect(errors).toEqual([expect.objectContaining({ code: 'too_large', path: 'rules', line: 3, column: 3 })]);
  });

  it('refuses texts that would keep the YAML parser busy, before parsing them', () => {
    // 100,000 nested brackets kept the parser busy for seconds before it overflowed its stack.
    const deep = refusal(`rules: ${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(deep.errors).toEqual([expect.objectContaining({ code: 'too_large', line: 1, column: 8 + MAX_DOCUMENT_DEPTH })]);
    expect(deep.ms).toBeLessThan(100);
    const wide = refusal(`rules: [${Array(MAX_DOCUMENT_NODES + 1).fill('a').join(',')}]`);
    expect(wide.errors[0]).toMatchObject({ code: 'too_large' });
    const tall = refusal(`version: v1\nrules:\n${'  - a\n'.repeat(MAX_DOCUMENT_NODES)}`);
    expect(tall.errors).toEqual([expect.objectContaining({ code: 'too_large', line: MAX_DOCUMENT_NODES + 1, column: 6 })]);
    expect(wide.ms).toBeLessThan(100);
    const long = refusal(`description: "${'x'.repeat(MAX_DOCUMENT_LENGTH)}"\n`);
    expect(long.errors[0]).toMatchObject({ code: 'too_large', line: 1, column: 1 });
  });

  it('refuses a bundle whose canonical JSON would be larger than it may be stored', () => {
    // 400,000 characters of CJK text: within the expanded size, 1.2 MB of UTF-8.
    const { errors } = refusal(`version: v1\ndescription: "${'中'.repeat(400_000)}"\nrules: []\n`);
    expect(errors).toEqual([expect.objectContaining({ code: 'too_large' })]);
    expect(errors[0].message).toContain(`at most ${MAX_POLICY_JSON_BYTES} are stored`);
  });

  it('reads a stored bundle back as parsing its JSON would, and refuses an oversized one in milliseconds', () => {
    const dir = path.join(__dirname, '..', '..', '..', 'policies');
    const files = [path.join(dir, 'default.yaml'), ...fs.readdirSync(path.join(dir, 'examples')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml')).map((f) => path.join(dir, 'examples', f))];
    const texts = [...files.map((file) => fs.readFileSync(file, 'utf8')), syntheticPolicy(300, 7).yaml];
    for (const text of texts) {
      const parsed = parsePolicy(text);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      const stored = JSON.parse(JSON.stringify(parsed.bundle)) as unknown;
      const fromValue = parseStoredPolicy(stored);
      const fromJson = parsePolicy(JSON.stringify(stored), { format: 'json' });
      expect(fromValue).toEqual(fromJson);
      expect(fromValue.ok && policySnapshot(fromValue.bundle)).toBe(policySnapshot(parsed.bundle));
    }
    // What an older version stored for the alias bomb: 13.8 MB of bundle.
    const bomb = storedAliasBomb();
    expect(canonicalJson(bomb).length).toBeGreaterThan(13_000_000);
    const started = performance.now();
    const result = parseStoredPolicy(bomb);
    expect(performance.now() - started).toBeLessThan(50);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0].code).toBe('too_large');
    // A stored value is checked like a parsed one.
    expect(parseStoredPolicy({ version: 'v1', rules: [{ id: 'x', decision: 'nope' }] })).toMatchObject({ ok: false, errors: [{ code: 'unknown_decision' }] });
  });
});
