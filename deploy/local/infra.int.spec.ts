import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { readEnvFile } from '@signoff/runtime';
import { isAlive } from './ports';

const root = path.resolve(__dirname, '..', '..');

function npmRun(script: string, stateDir: string, ...args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, SIGNOFF_STATE_DIR: stateDir };
  delete env.DATABASE_URL;
  return execFileSync('npm', ['run', '-s', script, ...(args.length ? ['--', ...args] : [])], { cwd: root, env, encoding: 'utf8' });
}

describe('npm run infra:up / infra:down', () => {
  it('brings up a Kafka broker and a PostgreSQL cluster, writes infra.env, and leaves nothing running after down', async () => {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-infra-'));
    fs.chmodSync(stateDir, 0o755); // PostgreSQL runs as its own user when the tests run as root
    try {
      npmRun('infra:up', stateDir);
      const env = readEnvFile(path.join(stateDir, 'infra.env'));
      expect(env.KAFKA_BROKERS).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(env.EVENT_STORE_URL).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const state = JSON.parse(fs.readFileSync(path.join(stateDir, 'infra', 'state.json'), 'utf8')) as { kafkaPid: number; postgresPid: number };

      const pg = new Client({ connectionString: env.EVENT_STORE_URL });
      await pg.connect();
      const { rows } = await pg.query<{ one: number }>('select 1 as one');
      await pg.end();
      expect(rows[0].one).toBe(1);

      const admin = new Kafka({ brokers: [env.KAFKA_BROKERS], logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      const cluster = await admin.describeCluster();
      await admin.disconnect();
      expect(cluster.brokers).toHaveLength(1);

      expect(npmRun('infra:up', stateDir)).toMatch(/already up/);
      npmRun('infra:down', stateDir, '--purge');
      expect(isAlive(state.kafkaPid)).toBe(false);
      expect(isAlive(state.postgresPid)).toBe(false);
      expect(fs.existsSync(path.join(stateDir, 'infra.env'))).toBe(false);
    } finally {
      npmRun('infra:down', stateDir, '--purge');
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
