import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { CatchUpReader, CatchUpSubscription, withoutCheckpoints, type CatchUpSource, type SubscriptionLease } from './catch-up.subscription';
import { EventStoreClosedError } from './event-store.errors';
import {
  EventStore,
  type EventData,
  type LogReader,
  type LogReaderOptions,
  type SubscribeOptions,
  type SubscriptionHandle,
} from './event-store.port';
import { validateReadAllOptions, validateSubscription } from './event-store.rules';
import { SharedLogFeed } from './shared-log.feed';

/** Default lease ttl of durable subscriptions (SUBSCRIPTION_LEASE_MS). */
export const DEFAULT_SUBSCRIPTION_LEASE_MS = 5_000;

/** A durable subscription acquired or lost its lease (for logs and the owner metric). */
export interface SubscriptionLeaseChange {
  readonly subscription: string;
  /** Whether this instance now handles the subscription. */
  readonly owned: boolean;
  /** The owner id this instance writes into the checkpoint record. */
  readonly instance: string;
  /** `vacant`, `released`, `expired` (the previous owner stopped renewing), `released on stop`, ... */
  readonly reason: string;
}

/** How durable subscriptions share their names across instances; every adapter takes these. */
export interface SubscriptionLeaseOptions {
  /** Lease ttl in ms; default {@link DEFAULT_SUBSCRIPTION_LEASE_MS}. A failover takes about 1 to 1.2 ttl. */
  readonly subscriptionLeaseMs?: number;
  /** Told whenever a durable subscription of this store acquires or loses its lease. */
  readonly onSubscriptionLease?: (change: SubscriptionLeaseChange) => void;
}

/**
 * What the adapters share around their catch-up source, written once: durable and non-durable
 * subscriptions, the non-durable reader, waking subscriptions after an append, and a close that
 * stops every subscription (each stores its last checkpoint) before the connection goes.
 * Every subscription of the store that has caught up is fed by one {@link SharedLogFeed}: one
 * read of the log per process, not one per subscription. `C` is the adapter's log cursor.
 */
export abstract class CatchUpEventStore<C> extends EventStore {
  /** Set once every subscription has stopped, just before `dispose()`: the source refuses from then on. */
  protected closed = false;
  private closing: Promise<void> | null = null;
  private readonly subscriptions = new Set<CatchUpSubscription<C>>();
  private volatileSource: CatchUpSource<C> | null = null;
  private logFeed: SharedLogFeed<C> | null = null;
  private leaseOptions: SubscriptionLeaseOptions = {};
  /** Names this process in lease records (`host/pid`), so an operator can tell who owns what. */
  private readonly instanceLabel = `${hostname()}/${process.pid}`;

  /** The adapter's log and checkpoints (built in its constructor). */
  protected abstract readonly source: CatchUpSource<C>;

  /** Releases the adapter's connection (after every subscription has stopped). */
  protected abstract dispose(): Promise<void>;

  /** Public calls are refused from the moment close() begins. */
  protected assertOpen(): void {
    if (this.closing !== null) throw new EventStoreClosedError();
  }

  /** New events may be readable: running subscriptions skip their idle wait. */
  protected notifySubscriptions(): void {
    this.logFeed?.notify();
    for (const subscription of this.subscriptions) subscription.notify();
  }

  /** Log reads made by the shared feed of this store's subscriptions so far (for profiles and tests). */
  get sharedLogReads(): number {
    return this.logFeed?.reads ?? 0;
  }

  /** Sets how durable subscriptions started from now on hold their lease (call it once, right after opening). */
  configureSubscriptionLeases(options: SubscriptionLeaseOptions): void {
    this.leaseOptions = options;
  }

  subscribe<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle {
    const owner = `${this.instanceLabel}/${randomUUID().slice(0, 8)}`;
    const observe = this.leaseOptions.onSubscriptionLease;
    const lease: SubscriptionLease = {
      ttlMs: options.leaseMs ?? this.leaseOptions.subscriptionLeaseMs ?? DEFAULT_SUBSCRIPTION_LEASE_MS,
      owner,
      ...(observe ? { onChange: (owned, { reason }) => observe({ subscription: name, owned, instance: owner, reason }) } : {}),
    };
    return this.start(name, options, this.source, lease);
  }

  subscribeFromStart<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle {
    this.volatileSource ??= withoutCheckpoints(this.source);
    return this.start(name, options, this.volatileSource);
  }

  readFromStart<E extends EventData = EventData>(options: LogReaderOptions = {}): LogReader<E> {
    this.assertOpen();
    validateReadAllOptions({ filter: options.filter });
    validateSubscription('reader', { batchSize: options.batchSize, handler: () => undefined });
    // Like readAll, a reader refuses once close() has begun.
    const source: CatchUpSource<C> = {
      ...this.source,
      readBatch: async (after, filter, limit) => {
        this.assertOpen();
        return this.source.readBatch(after, filter, limit);
      },
    };
    return new CatchUpReader<C, E>(source, options.filter, options.batchSize);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Subscriptions store their last checkpoint on the way out, so the connection closes after them.
      await Promise.all([...this.subscriptions].map((subscription) => subscription.stop()));
      this.logFeed?.close();
      this.closed = true;
      await this.dispose();
    })();
    return this.closing;
  }

  private start<E extends EventData>(
    name: string,
    options: SubscribeOptions<E>,
    source: CatchUpSource<C>,
    lease: SubscriptionLease | null = null,
  ): SubscriptionHandle {
    this.assertOpen();
    validateSubscription(name, options);
    validateReadAllOptions({ filter: options.filter });
    this.logFeed ??= new SharedLogFeed<C>(this.source);
    const subscription = new CatchUpSubscription<C>(name, source, options as SubscribeOptions, (done) => this.subscriptions.delete(done), lease, this.logFeed);
    this.subscriptions.add(subscription);
    return subscription;
  }
}
