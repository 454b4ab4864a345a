import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startKafka, type KafkaHandle } from '../../deploy/local/kafka/kafka';
import { startPostgres, type PostgresHandle } from '../../deploy/local/postgres/postgres';

/**
 * Starts one real Kafka broker (KRaft, from the Maven jars) and one throwaway PostgreSQL cluster
 * for the int and e2e tiers, and stops both when the run ends. Both projects list this file; the
 * servers are shared through a process-wide reference count so they start once per run.
 */
interface Shared {
  refs: number;
  pidFile: string;
  ready: Promise<{ pg: PostgresHandle; kafka: KafkaHandle }>;
}
const KEY = Symbol.for('signoff.test.infra');
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

/** Polls the test runner's pid; once it is gone, SIGKILLs the listed servers' process groups and exits. */
const WATCHDOG = `
const fs = require('node:fs');
const parent = Number(process.argv[1]);
const file = process.argv[2];
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
setInterval(() => {
  if (alive(parent)) return;
  let pids = [];
  try { pids = fs.readFileSync(file, 'utf8').split('\\n').filter(Boolean).map(Number); } catch {}
  for (const pid of pids) { try { process.kill(-pid, 'SIGKILL'); } catch {} }
  try { fs.rmSync(file, { force: true }); } catch {}
  process.exit(0);
}, 500);
`;

const noKafka: KafkaHandle = { brokers: [], version: 'none', pid: null, stop: async () => undefined };

function log(line: string): void {
  process.stderr.write(`[infra] ${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = registry[KEY];
  if (!shared) {
    // If the run dies without its teardown (a crash, a closed pipe, a kill), never leave the
    // detached servers behind: a watchdog process kills every server listed in `pidFile` once
    // this process is gone. Servers are listed the moment they are spawned.
    const pidFile = path.join(os.tmpdir(), `signoff-test-infra-${process.pid}.pids`);
    fs.writeFileSync(pidFile, '');
    spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), pidFile], { detached: true, stdio: 'ignore' }).unref();
    const onSpawn = (pid: number) => fs.appendFileSync(pidFile, `${pid}\n`);
    const ready = (async () => {
      // SIGNOFF_TEST_SKIP_KAFKA=1 is a development shortcut for working on PostgreSQL-only code:
      // tests that need the broker then fail loudly (no brokers are provided). CI never sets it.
      const skipKafka = process.env.SIGNOFF_TEST_SKIP_KAFKA === '1';
      const [pg, kafka] = await Promise.allSettled([
        startPostgres({ log, onSpawn }),
        skipKafka ? Promise.resolve(noKafka) : startKafka({ log, onSpawn }),
      ]);
      if (pg.status === 'rejected' || kafka.status === 'rejected') {
        if (pg.status === 'fulfilled') await pg.value.stop();
        if (kafka.status === 'fulfilled') await kafka.value.stop();
        throw pg.status === 'rejected' ? pg.reason : (kafka as PromiseRejectedResult).reason;
      }
      return { pg: pg.value, kafka: kafka.value };
    })();
    shared = { refs: 0, ready, pidFile };
    registry[KEY] = shared;
  }
  shared.refs += 1;
  const { pg, kafka } = await shared.ready;
  project.provide('databaseUrl', pg.url);
  project.provide('kafkaBrokers', kafka.brokers.join(','));
  project.provide('kafkaVersion', kafka.version);
  return async () => {
    shared!.refs -= 1;
    if (shared!.refs > 0) return;
    registry[KEY] = undefined;
    await Promise.allSettled([kafka.stop(), pg.stop()]);
    // Stopped cleanly: nothing is left for the watchdog to kill (a pid must not be reused as a target).
    fs.writeFileSync(shared!.pidFile, '');
    log('stopped kafka and postgres');
  };
}
