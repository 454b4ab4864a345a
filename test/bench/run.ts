/**
 * `npm run bench`: starts one Kafka broker and one PostgreSQL cluster (as the tests do), then runs
 * every `test/bench/*.bench.ts` as its own process, one after another, with BENCH_DATABASE_URL and
 * BENCH_KAFKA_BROKERS set. Each benchmark prints a Markdown table with its figures and the ratio
 * against a baseline measured in the same run. `npm run bench -- policy` runs only the files whose
 * name contains "policy".
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startKafka } from '../../deploy/local/kafka/kafka';
import { startPostgres } from '../../deploy/local/postgres/postgres';

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const dir = __dirname;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`no benchmark matches "${filter}"\n`);
    process.exit(2);
  }
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const [pg, kafka] = await Promise.all([startPostgres({ log, durable: true }), startKafka({ log })]);
  process.stdout.write(`# Signoff benchmarks\n\n${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Kafka ${kafka.version}; PostgreSQL ${process.env.DATABASE_URL ? 'from DATABASE_URL' : 'durable (fsync, synchronous_commit and full_page_writes on)'}\n`);
  let failed = 0;
  try {
    for (const file of files) {
      process.stdout.write(`\n## ${file.replace('.bench.ts', '')}\n\n`);
      const result = spawnSync(process.execPath, ['-r', path.join(dir, '..', '..', 'tools', 'register.cjs'), path.join(dir, file)], {
        stdio: 'inherit',
        env: { ...process.env, BENCH_DATABASE_URL: pg.url, ...(pg.dataDir ? { BENCH_POSTGRES_DATA_DIR: pg.dataDir } : {}), BENCH_KAFKA_BROKERS: kafka.brokers.join(',') },
      });
      if (result.status !== 0) {
        failed += 1;
        process.stdout.write(`\n(${file} failed with exit code ${result.status})\n`);
      }
    }
  } finally {
    await Promise.allSettled([kafka.stop(), pg.stop()]);
  }
  process.exit(failed > 0 ? 1 : 0);
}

void main();
