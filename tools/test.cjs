#!/usr/bin/env node
/*
 * `npm test`: type check, lint, then the three test tiers (unit; int + e2e on a real Kafka broker
 * and a real PostgreSQL that the run starts and stops itself). Ends with one plain line
 * `N passed, N failed[, N skipped]` counting every test and check, and exits non-zero on any failure.
 * Every step runs on this process's Node.js (process.execPath: under npm, the pinned one in
 * node_modules/.bin), never on whichever `node` a tool's shebang would find on PATH.
 */
'use strict';
require('./node-runtime.cjs').assertSupportedRuntime();
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// A tool's JavaScript entry (its package.json `bin`), started with process.execPath: the
// node_modules/.bin shims are `#!/usr/bin/env node`, whatever `node` comes first on PATH.
function tool(pkg, name) {
  const dir = path.join(root, 'node_modules', pkg);
  const { bin } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return path.join(dir, typeof bin === 'string' ? bin : bin[name]);
}
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function step(name, entry, args) {
  const started = Date.now();
  process.stdout.write(`\n=== ${name}\n`);
  const result = spawnSync(process.execPath, [tool(...entry), ...args], { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(`=== ${name}: ${ok ? 'ok' : 'FAILED'} (${seconds} s)\n`);
  return ok;
}

function check(name, entry, args) {
  if (step(name, entry, args)) totals.passed += 1;
  else {
    totals.failed += 1;
    failures.push(name);
  }
}

function vitest(name, projects) {
  const out = path.join(os.tmpdir(), `signoff-vitest-${process.pid}-${name}.json`);
  fs.rmSync(out, { force: true });
  const args = ['run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${out}`];
  const ok = step(`tests: ${name}`, ['vitest', 'vitest'], args);
  let report = null;
  try {
    report = JSON.parse(fs.readFileSync(out, 'utf8'));
  } catch {
    /* the run died before writing its report */
  }
  fs.rmSync(out, { force: true });
  if (!report) {
    totals.failed += 1;
    failures.push(`${name}: no test report (the runner crashed)`);
    return;
  }
  totals.passed += report.numPassedTests;
  totals.failed += report.numFailedTests;
  totals.skipped += report.numPendingTests + report.numTodoTests;
  if (report.numFailedTests > 0) failures.push(`${name}: ${report.numFailedTests} failed`);
  else if (!ok) {
    // Failed suites (import errors, hook failures) or unhandled errors fail the run even when no test did.
    totals.failed += 1;
    failures.push(`${name}: the runner exited non-zero (a suite failed to load or an error was unhandled)`);
  }
}

process.stdout.write(`Node.js ${process.version} (${process.execPath})\n`);
check('typecheck (tsc --noEmit)', ['typescript', 'tsc'], ['-p', 'tsconfig.json', '--noEmit']);
check('lint (eslint)', ['eslint', 'eslint'], ['.', '--max-warnings=0']);
vitest('unit', ['unit']);
vitest('int+e2e', ['int', 'e2e']);

if (failures.length > 0) process.stdout.write(`\nFailures:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`);
process.exit(totals.failed > 0 ? 1 : 0);
