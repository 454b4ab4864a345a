import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCpuAccounting } from './cpu-accounting';

function spinFor(cpuUs: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= cpuUs) return;
  }
}

describe('bench CPU accounting', () => {
  it('charges this process its own CPU per request, and leaves the server null without a data directory', () => {
    const window = startCpuAccounting({ postgresDataDir: null });
    spinFor(30_000);
    const split = window.stop(3);
    expect(split.serviceUs).toBeGreaterThanOrEqual(10_000);
    expect(split.postgresUs).toBeNull();
    if (process.platform === 'linux') {
      expect(split.idleShare).toBeGreaterThanOrEqual(0);
      expect(split.idleShare).toBeLessThanOrEqual(1);
      expect(split.otherUs).toBeGreaterThanOrEqual(0);
    }
  });

  it.runIf(process.platform === 'linux')('reads the server tree from the postmaster.pid of a data directory', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cpu-accounting-'));
    // This process stands in for the postmaster: its own time counts as the server's.
    writeFileSync(path.join(dir, 'postmaster.pid'), `${process.pid}\n${dir}\n`);
    const window = startCpuAccounting({ postgresDataDir: dir });
    spinFor(50_000);
    const split = window.stop(1);
    expect(split.postgresUs).not.toBeNull();
    expect(split.postgresUs!).toBeGreaterThanOrEqual(20_000);
  });

  it('says n/a rather than guessing when the pid file is missing', () => {
    const split = startCpuAccounting({ postgresDataDir: path.join(os.tmpdir(), 'no-such-cluster') }).stop(1);
    expect(split.postgresUs).toBeNull();
  });
});
