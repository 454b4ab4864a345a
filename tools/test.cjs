#!/usr/bin/env node
/*
 * `npm test`: type check, lint, then the three test tiers (unit; int + e2e on a real Kafka broker
 * and a real PostgreSQL that the run starts and stops itself). Ends with one plain line
 * `N passed, N failed[, N skipped]` counting every test and check, and exits non-zero on any failure.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function step(name, cmd, args) {
  const started = Date.now();
  process.stdout.write(`\n=== ${name}\n`);
  const result = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(`=== ${name}: ${ok ? 'ok' : 'FAILED'} (${seconds} s)\n`);
  return ok;
}

function check(name, cmd, args) {
  if (step(name, cmd, args)) totals.passed += 1;
  else {
    totals.failed += 1;
    failures.push(name);
  }
}

function vitest(name, projects) {
  const out = path.join(os.tmpdir(), `signoff-vitest-${process.pid}-${name}.json`);
  fs.rmSync(out, { force: true });
  const args = ['run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${out}`];
  const ok = step(`tests: ${name}`, bin('vitest'), args);
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

check('typecheck (tsc --noEmit)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
check('lint (eslint)', bin('eslint'), ['.', '--max-warnings=0']);
vitest('unit', ['unit']);
vitest('int+e2e', ['int', 'e2e']);

if (failures.length > 0) process.stdout.write(`\nFailures:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}\n`);
process.exit(totals.failed > 0 ? 1 : 0);
