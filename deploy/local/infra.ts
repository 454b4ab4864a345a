/**
 * `npm run infra:up` / `npm run infra:down`: a local Kafka broker (from the Maven jars) and a
 * PostgreSQL cluster for development. `up` writes `.signoff/infra.env` (KAFKA_BROKERS=…,
 * EVENT_STORE_URL=…) and returns once both accept connections; `down` stops both and leaves
 * nothing running (`down --purge` also deletes their data).
 */
import fs from 'node:fs';
import path from 'node:path';
import { startKafka, stopKafkaProcess } from './kafka/kafka';
import { startPostgres, stopPostgresProcess } from './postgres/postgres';
import { isAlive } from './ports';

const root = path.resolve(__dirname, '..', '..');
// SIGNOFF_STATE_DIR lets tests run the real commands without touching a developer's .signoff/.
const stateDir = process.env.SIGNOFF_STATE_DIR ? path.resolve(process.env.SIGNOFF_STATE_DIR) : path.join(root, '.signoff');
const infraDir = path.join(stateDir, 'infra');
const envFile = path.join(stateDir, 'infra.env');
const stateFile = path.join(infraDir, 'state.json');

interface InfraState {
  kafkaPid: number | null;
  postgresPid: number | null;
  kafkaBrokers: string;
  eventStoreUrl: string;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

function readState(): InfraState | null {
  try {
    return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as InfraState;
  } catch {
    return null;
  }
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && [existing.kafkaPid, existing.postgresPid].some((pid) => pid !== null && isAlive(pid))) {
    log(`infra is already up (see ${envFile}); run npm run infra:down first to restart it`);
    return;
  }
  fs.mkdirSync(infraDir, { recursive: true });
  const started = Date.now();
  const [pgResult, kafkaResult] = await Promise.allSettled([
    startPostgres({ dataDir: path.join(infraDir, 'postgres'), log }),
    startKafka({ dataDir: path.join(infraDir, 'kafka'), log }),
  ]);
  if (pgResult.status === 'rejected' || kafkaResult.status === 'rejected') {
    // Never leave half of it running.
    if (pgResult.status === 'fulfilled') await pgResult.value.stop();
    if (kafkaResult.status === 'fulfilled') await kafkaResult.value.stop();
    throw pgResult.status === 'rejected' ? pgResult.reason : (kafkaResult as PromiseRejectedResult).reason;
  }
  const pg = pgResult.value;
  const kafka = kafkaResult.value;
  const state: InfraState = {
    kafkaPid: kafka.pid,
    postgresPid: pg.pid,
    kafkaBrokers: kafka.brokers.join(','),
    eventStoreUrl: pg.url,
  };
  fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
  fs.writeFileSync(envFile, `KAFKA_BROKERS=${state.kafkaBrokers}\nEVENT_STORE_URL=${state.eventStoreUrl}\n`);
  log(`infra up in ${Date.now() - started} ms; wrote ${envFile}:`);
  log(fs.readFileSync(envFile, 'utf8').trimEnd());
}

async function down(purge: boolean): Promise<void> {
  const state = readState();
  if (state) {
    await Promise.all([
      state.kafkaPid !== null ? stopKafkaProcess(state.kafkaPid) : Promise.resolve(),
      state.postgresPid !== null ? stopPostgresProcess(state.postgresPid) : Promise.resolve(),
    ]);
    log(`stopped kafka (pid ${state.kafkaPid}) and postgres (pid ${state.postgresPid})`);
  } else {
    log('infra is not up');
  }
  fs.rmSync(envFile, { force: true });
  fs.rmSync(stateFile, { force: true });
  if (purge) {
    fs.rmSync(infraDir, { recursive: true, force: true });
    log('purged .signoff/infra');
  }
}

const [command, ...flags] = process.argv.slice(2);
const run = command === 'up' ? up() : command === 'down' ? down(flags.includes('--purge')) : null;
if (!run) {
  process.stderr.write('usage: infra.ts up | down [--purge]\n');
  process.exit(2);
}
run.then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`infra ${command} failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
