/*
 * The Node.js that Signoff runs on. package.json `engines` names the supported LTS lines
 * (`^22.13.0 || ^24.0.0`); `npm install` brings the pinned one (optionalDependencies
 * `node-linux-*`, the official binaries as npm packages, no install script) into
 * node_modules/.bin, which every npm script finds first on PATH, so a machine whose own `node` is
 * older still runs everything on the pinned runtime. Started any other way on an older Node
 * (`node tools/register.cjs …` from a shell whose `node` is 20), the entry points stop at once
 * with a sentence instead of failing later on a missing API.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** `v24.22.1` / `24.22.1` -> [24, 22, 1]; null for anything else (a pre-release keeps its numbers). */
function parseVersion(text) {
  const m = /^v?(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:[-+].*)?$/.exec(String(text).trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/**
 * The lowest version of each supported line, from an `engines.node` written as caret ranges
 * joined by `||` (`^22.13.0 || ^24.0.0` -> [[22, 13, 0], [24, 0, 0]]). Throws on any other form:
 * the range is the project's own text, and the unit test keeps it in this shape.
 */
function parseCaretRanges(range) {
  return String(range)
    .split('||')
    .map((part) => {
      const m = /^\s*\^(\d+\.\d+\.\d+)\s*$/.exec(part);
      if (!m) throw new Error(`engines.node must be caret ranges joined by ||, got "${range}"`);
      return parseVersion(m[1]);
    })
    .sort((a, b) => compare(a, b));
}

function compare(a, b) {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `version` satisfies one of the caret ranges (same major, at least the lower bound). */
function satisfies(version, range) {
  const v = parseVersion(version);
  return v !== null && parseCaretRanges(range).some((low) => v[0] === low[0] && compare(v, low) >= 0);
}

/**
 * Why `version` cannot run Signoff, or null when it can. Only versions older than the lowest
 * supported one are refused (and an older minor of a supported line, and the odd lines between
 * them); a newer line than the ones named is let through without a promise.
 */
function runtimeProblem(version, range) {
  const v = parseVersion(version);
  if (v === null) return null; // not a Node.js version string: nothing to judge
  const lows = parseCaretRanges(range);
  const newest = lows[lows.length - 1];
  if (v[0] > newest[0] || satisfies(version, range)) return null;
  return (
    `Signoff needs Node.js ${lows.map((l) => `${l[0]} (${l.join('.')}+)`).join(' or ')}; this is ${version}.\n` +
    'Run it through npm (npm start, npm test, npm run …): `npm install` puts the pinned Node.js in\n' +
    'node_modules/.bin and npm scripts use it. Or install Node.js ' + newest[0] + ' (see .nvmrc).\n'
  );
}

function engines() {
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node;
}

/** Stops the process with a clear message when it runs on a Node.js older than `engines`. */
function assertSupportedRuntime() {
  const problem = runtimeProblem(process.version, engines());
  if (problem) {
    process.stderr.write(`${problem}(node: ${process.execPath})\n`);
    process.exit(1);
  }
}

module.exports = { parseVersion, parseCaretRanges, satisfies, runtimeProblem, assertSupportedRuntime, engines };
