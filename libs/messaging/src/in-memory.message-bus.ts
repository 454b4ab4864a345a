import {
  encodeValue,
  InboundMessage,
  MessageBus,
  OutboundMessage,
  partitionForKey,
  PublishedRecord,
  SubscribeOptions,
  Subscription,
  TopicSpec,
} from './message-bus.port';
import { MessageDelivery } from './message-delivery';
import { TransientMessageError } from './message-failure';

interface StoredRecord {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
}

interface Topic {
  readonly partitions: StoredRecord[][];
}

interface GroupMember {
  readonly options: SubscribeOptions;
  readonly delivery: MessageDelivery;
  stopped: boolean;
}

/** Retries of a failing handler: 10 ms doubling to 1 s, jittered. */
const HANDLER_BACKOFF = { baseMs: 10, maxMs: 1000 };

/**
 * The messaging port inside one process, for the standalone mode and tests: topics are
 * partitioned logs (one key always maps to one partition), consumer groups keep committed
 * offsets, and a handler's offset is committed only after it resolves or its message was
 * dead-lettered (at least once; failures follow SubscribeOptions.handler: transient ones are
 * retried, never skipped). Partitions of a topic are shared by the members of a group.
 * Nothing survives the process: the event store is the source of truth and the replay consumer
 * republishes what was not delivered.
 */
export class InMemoryMessageBus extends MessageBus {
  private readonly topics = new Map<string, Topic>();
  private readonly committed = new Map<string, number>(); // `${group}\0${topic}\0${partition}` -> next offset
  private readonly groups = new Map<string, GroupMember[]>();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly defaultPartitions = 6,
    private readonly log: (level: 'error' | 'warn' | 'info', message: string, extra?: Record<string, unknown>) => void = () => undefined,
  ) {
    super();
  }

  private topic(name: string, create = true): Topic {
    let topic = this.topics.get(name);
    if (!topic && create) {
      topic = { partitions: Array.from({ length: this.defaultPartitions }, () => []) };
      this.topics.set(name, topic);
    }
    if (!topic) throw new Error(`unknown topic ${name}`);
    return topic;
  }

  async publish(topicName: string, messages: readonly OutboundMessage[]): Promise<PublishedRecord[]> {
    // Transient for a handler that publishes: its message is not committed and comes back later.
    if (this.closed) throw new TransientMessageError('broker_unavailable', 'message bus is closed');
    const topic = this.topic(topicName);
    const timestamp = String(Date.now());
    const records = messages.map((m) => {
      const partition = partitionForKey(m.key, topic.partitions.length);
      const log = topic.partitions[partition];
      log.push({ key: m.key, value: encodeValue(m.value), headers: { ...m.headers }, timestamp });
      return { topic: topicName, partition, offset: String(log.length - 1) };
    });
    for (const wake of [...this.wakers]) wake();
    return records;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const t of topics) {
      if (!this.topics.has(t.name)) this.topics.set(t.name, { partitions: Array.from({ length: t.partitions }, () => []) });
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new Error('message bus is closed');
    for (const name of options.topics) this.topic(name);
    const member: GroupMember = {
      options,
      stopped: false,
      delivery: new MessageDelivery(options, { publish: (topic, messages) => this.publish(topic, messages), backoff: HANDLER_BACKOFF, log: this.log }),
    };
    const members = this.groups.get(options.groupId) ?? [];
    members.push(member);
    this.groups.set(options.groupId, members);
    if (options.fromBeginning === false) {
      for (const name of options.topics) {
        this.topic(name).partitions.forEach((log, p) => {
          const key = `${options.groupId}\0${name}\0${p}`;
          if (!this.committed.has(key)) this.committed.set(key, log.length);
        });
      }
    }
    const loop = this.consume(member);
    return {
      waiting: () => member.delivery.waiting(),
      stop: async () => {
        member.stopped = true;
        member.delivery.stop();
        for (const wake of [...this.wakers]) wake();
        await loop;
        const list = this.groups.get(options.groupId) ?? [];
        this.groups.set(options.groupId, list.filter((m) => m !== member));
      },
    };
  }

  /** Partitions this member owns: partitions are dealt round-robin over the group's live members. */
  private owns(member: GroupMember, topicName: string, partition: number): boolean {
    const live = (this.groups.get(member.options.groupId) ?? []).filter((m) => !m.stopped && m.options.topics.includes(topicName));
    if (live.length === 0) return false;
    return live[partition % live.length] === member;
  }

  private async consume(member: GroupMember): Promise<void> {
    const { groupId, topics } = member.options;
    while (!member.stopped && !this.closed) {
      let progressed = false;
      for (const name of topics) {
        const topic = this.topic(name);
        for (let p = 0; p < topic.partitions.length; p++) {
          if (member.stopped || this.closed) return;
          if (!this.owns(member, name, p)) continue;
          const key = `${groupId}\0${name}\0${p}`;
          const next = this.committed.get(key) ?? 0;
          const record = topic.partitions[p][next];
          if (!record) continue;
          const message: InboundMessage = {
            topic: name,
            partition: p,
            offset: String(next),
            key: record.key,
            value: record.value,
            headers: record.headers,
            timestamp: record.timestamp,
          };
          try {
            await member.delivery.deliver(message, { abandoned: () => member.stopped || this.closed });
          } catch {
            return; // stopped before the message was handled: it stays uncommitted
          }
          this.committed.set(key, next + 1);
          progressed = true;
        }
      }
      if (!progressed) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.wakers.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, 250);
          this.wakers.add(wake);
        });
      }
    }
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('message bus is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of [...this.wakers]) wake();
    for (const members of this.groups.values()) {
      for (const m of members) {
        m.stopped = true;
        m.delivery.stop();
      }
    }
  }
}
