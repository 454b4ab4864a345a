import { CatchUpReader, CatchUpSubscription, withoutCheckpoints, type CatchUpSource } from './catch-up.subscription';
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

/**
 * What the adapters share around their catch-up source, written once: durable and non-durable
 * subscriptions, the non-durable reader, waking subscriptions after an append, and a close that
 * stops every subscription (each stores its last checkpoint) before the connection goes.
 * `C` is the adapter's log cursor.
 */
export abstract class CatchUpEventStore<C> extends EventStore {
  /** Set once every subscription has stopped, just before `dispose()`: the source refuses from then on. */
  protected closed = false;
  private closing: Promise<void> | null = null;
  private readonly subscriptions = new Set<CatchUpSubscription<C>>();
  private volatileSource: CatchUpSource<C> | null = null;

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
    for (const subscription of this.subscriptions) subscription.notify();
  }

  subscribe<E extends EventData = EventData>(name: string, options: SubscribeOptions<E>): SubscriptionHandle {
    return this.start(name, options, this.source);
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
      this.closed = true;
      await this.dispose();
    })();
    return this.closing;
  }

  private start<E extends EventData>(name: string, options: SubscribeOptions<E>, source: CatchUpSource<C>): SubscriptionHandle {
    this.assertOpen();
    validateSubscription(name, options);
    validateReadAllOptions({ filter: options.filter });
    const subscription = new CatchUpSubscription<C>(name, source, options as SubscribeOptions, (done) => this.subscriptions.delete(done));
    this.subscriptions.add(subscription);
    return subscription;
  }
}
