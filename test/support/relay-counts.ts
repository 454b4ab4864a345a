import { Consumer, Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { JOB_EVENT_TYPES } from '@signoff/contracts';
import { ServiceProcess, startApp } from './processes';
import { metric } from './signoff-client';

/** The topics the services relay stored events to (issue 15: each event once per topic). */
export type RelayedTopic = 'audit' | 'jobs.evaluated' | 'jobs.approved';
export const RELAYED_TOPICS: readonly RelayedTopic[] = ['audit', 'jobs.evaluated', 'jobs.approved'];

/** The policy service's and the approval service's relays (subscription names), for the owner metric. */
export const POLICY_RELAYS = ['audit-relay', 'policy-service.evaluated-relay'] as const;
export const APPROVAL_RELAYS = ['approval-service.approved-relay', 'delegation-audit-relay'] as const;

/**
 * Counts the REAL messages on the relayed topics: every message, and the distinct events they
 * carry (the audit CloudEvent's `id` is the event id; the evaluated and approved messages carry
 * one event per job, keyed by job id).
 */
export class RelayedMessages {
  private readonly consumer: Consumer;
  readonly total = new Map<RelayedTopic, number>();
  readonly distinct = new Map<RelayedTopic, Set<string>>();

  constructor(
    brokers: string[],
    private readonly prefix: string,
  ) {
    this.consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: `${prefix}relay-probe` });
    for (const topic of RELAYED_TOPICS) {
      this.total.set(topic, 0);
      this.distinct.set(topic, new Set());
    }
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: RELAYED_TOPICS.map((t) => `${this.prefix}${t}`), fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ topic, message }) => {
        const name = topic.slice(this.prefix.length) as RelayedTopic;
        this.total.set(name, (this.total.get(name) ?? 0) + 1);
        const id = name === 'audit' ? String((JSON.parse(message.value!.toString()) as { id: string }).id) : (message.key?.toString() ?? '');
        this.distinct.get(name)!.add(id);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  /** Messages and distinct events per topic. */
  snapshot(): Record<RelayedTopic, { messages: number; events: number }> {
    return Object.fromEntries(RELAYED_TOPICS.map((t) => [t, { messages: this.total.get(t)!, events: this.distinct.get(t)!.size }])) as Record<
      RelayedTopic,
      { messages: number; events: number }
    >;
  }
}

/** What the store holds for each relayed topic: the events its relay publishes. */
export async function storedRelayEvents(databaseUrl: string): Promise<Record<RelayedTopic, number>> {
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query<{ audit: number; evaluated: number; approved: number }>(
      `SELECT count(*) FILTER (WHERE type = ANY($1::text[]) OR type = ANY($2::text[]))::int AS audit,
              count(*) FILTER (WHERE type = 'PolicyEvaluated' AND starts_with(stream_id, 'job-'))::int AS evaluated,
              count(*) FILTER (WHERE type = 'ApprovalGranted' AND starts_with(stream_id, 'job-'))::int AS approved
       FROM event_store.events`,
      [[...JOB_EVENT_TYPES, 'PolicyActivated'], ['DelegationGranted', 'DelegationRevoked']],
    );
    const row = rows[0]!;
    return { audit: row.audit, 'jobs.evaluated': row.evaluated, 'jobs.approved': row.approved };
  } finally {
    await pg.end();
  }
}

/** Which of `procs` reports holding the subscription's lease (signoff_subscription_owner = 1); null: none or unreachable. */
export async function ownersOf(procs: readonly ServiceProcess[], subscription: string): Promise<number[]> {
  const owners: number[] = [];
  for (const [i, proc] of procs.entries()) {
    try {
      const text = await (await fetch(`${proc.url}/metrics`)).text();
      if (metric(text, `signoff_subscription_owner{subscription="${subscription}"}`) === 1) owners.push(i);
    } catch {
      /* a killed instance */
    }
  }
  return owners;
}

/** Starts `count` instances of a service at once (they race for every lease at start-up). */
export function startInstances(app: string, count: number, env: Record<string, string>): Promise<ServiceProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startApp(app, env, 120_000)));
}
