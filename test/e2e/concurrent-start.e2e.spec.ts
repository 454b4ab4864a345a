import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../support/app';
import { startKafka } from '../../deploy/local/kafka/kafka';
import { createTestDatabase, testKafkaBrokers } from '../support/infra';
import { ServiceProcess, startApp } from '../support/processes';
import { eventually } from '../support/wait';

const TRIALS = Number(process.env.TRIALS ?? 3);
const INSTANCES = ['policy-service', 'policy-service', 'dispatch-service', 'dispatch-service'];

/**
 * Issue 10 §7: instances of a fresh deployment started at the same moment all come up. Each trial
 * is a fresh deployment: a topic prefix no broker has seen (no topics, no consumer groups) and an
 * empty database; its four processes are spawned together and every one must become ready
 * without exiting. Before the fix, the losers of the topic list/create/wait-for-leaders race
 * exited 1 (`This server does not host this topic-partition`) in about half of such trials.
 */
describe('instances of a fresh deployment started together', () => {
  const started: ServiceProcess[] = [];
  const dbs: { drop: () => Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await Promise.all(dbs.map((d) => d.drop().catch(() => undefined)));
  });

  it(`${TRIALS} trials of 2 policy + 2 dispatch instances: every instance becomes ready, none exits`, async () => {
    for (let trial = 1; trial <= TRIALS; trial++) {
      const db = await createTestDatabase('e2estart');
      dbs.push(db);
      const fresh = process.env.FRESH_BROKER === '1' ? await startKafka() : null;
      const env = {
        KAFKA_BROKERS: (fresh?.brokers ?? testKafkaBrokers()).join(','),
        EVENT_STORE_URL: db.url,
        KAFKA_TOPIC_PREFIX: `start${randomBytes(4).toString('hex')}.`,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
      };
      const outcomes = await Promise.allSettled(INSTANCES.map((app) => startApp(app, env)));
      const procs = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      started.push(...procs);
      const failures = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`${INSTANCES[i]}: ${String((o.reason as Error).message).slice(0, 1500)}`] : []));
      expect(failures, `trial ${trial}`).toEqual([]);
      await eventually(
        async () => (await Promise.all(procs.map(async (p) => (await fetch(`${p.url}/health/ready`).catch(() => null))?.status === 200))).every(Boolean),
        `trial ${trial}: all four instances ready`,
        30_000,
      );
      expect(procs.map((p) => p.child.exitCode), `trial ${trial}: nobody exited`).toEqual([null, null, null, null]);
      expect(await Promise.all(procs.map((p) => p.stop('SIGTERM'))), `trial ${trial}: clean stops`).toEqual([0, 0, 0, 0]);
      await fresh?.stop();
    }
  });
});
