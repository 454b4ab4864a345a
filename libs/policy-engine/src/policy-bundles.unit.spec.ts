import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundlePathForTestFile, findPolicyTestFiles, formatPolicyError, isPolicyTestFile, readPolicyFile, readPolicyTestFile } from './policy-file.loader';
import { runPolicyTests } from './policy-test.runner';
import { readdirSync } from 'node:fs';

const POLICIES = join(__dirname, '../../../policies');

function bundlesIn(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return bundlesIn(path);
    return /\.(ya?ml|json)$/.test(entry.name) && !isPolicyTestFile(entry.name) ? [path] : [];
  });
}

describe('policies/: every bundle and its policy tests', () => {
  const testFiles = findPolicyTestFiles(POLICIES);

  it('finds the test files of the default and example bundles', () => {
    expect(testFiles.map((file) => relative(POLICIES, file))).toEqual(
      expect.arrayContaining(['default.test.yaml', 'examples/quorum.test.yaml', 'examples/throttle.test.yaml', 'examples/payload-conditions.test.yaml']),
    );
  });

  it.each(bundlesIn(POLICIES).map((file) => [relative(POLICIES, file), file]))('%s is valid and has policy tests', (_name, file) => {
    const result = readPolicyFile(file);
    expect(result.ok ? [] : result.errors.map((error) => formatPolicyError(error, file))).toEqual([]);
    expect(testFiles.some((testFile) => bundlePathForTestFile(testFile) === file)).toBe(true);
  });

  it.each(testFiles.map((file) => [relative(POLICIES, file), file]))('%s passes', (_name, file) => {
    const bundlePath = bundlePathForTestFile(file);
    expect(bundlePath).not.toBeNull();
    const bundle = readPolicyFile(bundlePath as string);
    const tests = readPolicyTestFile(file);
    if (!bundle.ok) throw new Error(bundle.errors.map((error) => formatPolicyError(error, bundle.path)).join('\n'));
    if (!tests.ok) throw new Error(tests.errors.map((error) => formatPolicyError(error, tests.path)).join('\n'));
    expect(tests.cases.length).toBeGreaterThanOrEqual(5);
    const report = runPolicyTests(bundle.bundle, tests.cases);
    expect(report.results.filter((result) => !result.passed).map((result) => `${file}:${result.line}: ${result.name}: ${result.failures.join('; ')}`)).toEqual([]);
    expect(report.passed).toBe(tests.cases.length);
  });

  it('default.yaml holds exactly the three rules of the reference article, default deny', () => {
    const result = readPolicyFile(join(POLICIES, 'default.yaml'));
    if (!result.ok) throw new Error('default.yaml must be valid');
    expect(result.bundle.default).toBe('deny');
    expect(result.bundle.rules.map(({ id, when, decision }) => ({ id, when, decision }))).toEqual([
      { id: 'allow-readonly', when: { topic: 'knowledge.read' }, decision: 'allow' },
      { id: 'require-approval-prod-finance', when: { topic: 'finance.payment.execute', env: 'production' }, decision: 'require_human' },
      { id: 'require-approval-external-notify', when: { topic: 'customer.notify', channel: 'external' }, decision: 'require_human' },
    ]);
  });

  it('quorum.yaml asks two reviewers for large payments', () => {
    const result = readPolicyFile(join(POLICIES, 'examples/quorum.yaml'));
    expect(result.ok && result.bundle.rules[0].approval?.required).toBe(2);
  });
});
