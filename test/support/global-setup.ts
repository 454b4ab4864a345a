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
  ready: Promise<{ pg: PostgresHandle; kafka: KafkaHandle }>;
}
const KEY = Symbol.for('signoff.test.infra');
const registry = globalThis as unknown as Record<symbol, Shared | undefined>;

const noKafka: KafkaHandle = { brokers: [], version: 'none', pid: null, stop: async () => undefined };

function log(line: string): void {
  process.stderr.write(`[infra] ${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = registry[KEY];
  if (!shared) {
    const ready = (async () => {
      // SIGNOFF_TEST_SKIP_KAFKA=1 is a development shortcut for working on PostgreSQL-only code:
      // tests that need the broker then fail loudly (no brokers are provided). CI never sets it.
      const skipKafka = process.env.SIGNOFF_TEST_SKIP_KAFKA === '1';
      const [pg, kafka] = await Promise.allSettled([
        startPostgres({ log }),
        skipKafka ? Promise.resolve(noKafka) : startKafka({ log }),
      ]);
      if (pg.status === 'rejected' || kafka.status === 'rejected') {
        if (pg.status === 'fulfilled') await pg.value.stop();
        if (kafka.status === 'fulfilled') await kafka.value.stop();
        throw pg.status === 'rejected' ? pg.reason : (kafka as PromiseRejectedResult).reason;
      }
      return { pg: pg.value, kafka: kafka.value };
    })();
    shared = { refs: 0, ready };
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
    log('stopped kafka and postgres');
  };
}
