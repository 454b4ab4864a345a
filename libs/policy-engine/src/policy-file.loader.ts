import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parsePolicy } from './policy.parser';
import { parsePolicyTests, type PolicyTestCase } from './policy-test.runner';
import type { PolicyBundle, PolicyError } from './policy.types';

/** A bundle read from a file, or its errors. */
export type PolicyFileResult =
  | { readonly ok: true; readonly path: string; readonly text: string; readonly bundle: PolicyBundle }
  | { readonly ok: false; readonly path: string; readonly text: string; readonly errors: readonly PolicyError[] };

/** A test file read from disk, or its errors. */
export type PolicyTestFileResult =
  | { readonly ok: true; readonly path: string; readonly cases: readonly PolicyTestCase[] }
  | { readonly ok: false; readonly path: string; readonly errors: readonly PolicyError[] };

const TEST_SUFFIXES = ['.test.yaml', '.test.yml', '.test.json'] as const;

/**
 * Reads and parses a bundle file (for the CLI and the composition root). `.json` files must be
 * strict JSON; anything else is read as YAML. Throws only when the file cannot be read.
 */
export function readPolicyFile(path: string): PolicyFileResult {
  const text = readFileSync(path, 'utf8');
  const parsed = parsePolicy(text, { format: extname(path) === '.json' ? 'json' : 'yaml' });
  return parsed.ok ? { ok: true, path, text, bundle: parsed.bundle } : { ok: false, path, text, errors: parsed.errors };
}

/** Reads and parses a policy test file. Throws only when the file cannot be read. */
export function readPolicyTestFile(path: string): PolicyTestFileResult {
  const parsed = parsePolicyTests(readFileSync(path, 'utf8'));
  return parsed.ok ? { ok: true, path, cases: parsed.cases } : { ok: false, path, errors: parsed.errors };
}

/** Whether a file name is a policy test file (`*.test.yaml`, `*.test.yml`, `*.test.json`). */
export function isPolicyTestFile(path: string): boolean {
  return TEST_SUFFIXES.some((suffix) => path.endsWith(suffix));
}

/** The policy test files under a directory (recursively), sorted. */
export function findPolicyTestFiles(directory: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) out.push(...findPolicyTestFiles(path));
    else if (entry.isFile() && isPolicyTestFile(entry.name)) out.push(path);
  }
  return out.sort();
}

/**
 * The bundle a test file tests: `x.test.yaml` tests `x.yaml` (or `x.yml`, `x.json`) next to it.
 * Returns null when none exists.
 */
export function bundlePathForTestFile(testPath: string): string | null {
  const suffix = TEST_SUFFIXES.find((candidate) => testPath.endsWith(candidate));
  if (!suffix) return null;
  const stem = join(dirname(testPath), basename(testPath).slice(0, -suffix.length));
  for (const extension of ['.yaml', '.yml', '.json']) if (existsSync(stem + extension)) return stem + extension;
  return null;
}

/** One error as `file:line:column: [code] path: message` (the form editors and CI annotate). */
export function formatPolicyError(error: PolicyError, file = '<policy>'): string {
  const where = error.path === '' ? '' : `${error.path}: `;
  return `${file}:${error.line}:${error.column}: [${error.code}] ${where}${error.message}`;
}
