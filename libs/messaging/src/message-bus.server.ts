import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom, Observable, throwError } from 'rxjs';
import { DeadLetterOptions, InboundMessage, MessageBus, Subscription, WaitingMessage } from './message-bus.port';
import { TransientMessageError } from './message-failure';

/** The context of a bus message handler: the raw Kafka/in-process record. */
export class BusContext extends BaseRpcContext<[InboundMessage]> {
  constructor(message: InboundMessage) {
    super([message]);
  }
  getMessage(): InboundMessage {
    return this.getArgByIndex(0);
  }
}

/**
 * The record behind a handler's `@Ctx()` argument. Nest 12 types `@EventPattern` handlers as
 * `(data, ...args: unknown[])`, so handlers take the context as `unknown` and read it with this.
 */
export function busMessage(context: unknown): InboundMessage {
  if (!(context instanceof BusContext)) throw new Error('not a MessageBusServer handler context');
  return context.getMessage();
}

/**
 * Hands a message handler's error to the MessageBusServer unchanged, so the bus can classify it.
 * Nest's default RPC filter replaces every error by `{status: 'error', message: 'Internal server
 * error'}`; register this one (`microservice.useGlobalFilters(new MessageBusErrorFilter())`) on a
 * microservice of its own, or let the app's global filter rethrow non-HTTP errors (Signoff's
 * ProblemJsonFilter does).
 */
@Catch()
export class MessageBusErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/** What Nest's default RPC exception filter leaves of an error. */
function isSwallowedError(error: unknown): boolean {
  const e = error as { status?: unknown; message?: unknown } | null;
  return !(error instanceof Error) && e?.status === 'error' && e.message === 'Internal server error';
}

/** Transport id of {@link MessageBusServer} (keeps gRPC and other transports' handlers off the bus). */
export const MESSAGE_BUS_TRANSPORT = Symbol('signoff.message-bus');

export interface MessageBusServerOptions {
  /** Consumer group of this service; instances of one service share it. */
  readonly groupId: string;
  /** Prefix added to every `@EventPattern` (KAFKA_TOPIC_PREFIX), e.g. `jobs.requested` -> `signoff.jobs.requested`. */
  readonly topicPrefix: string;
  /** Messages of different keys of one partition handled at once (see SubscribeOptions). */
  readonly keyConcurrency?: number;
  /** Told after a message was moved to its dead-letter topic (metrics, logs). */
  readonly onDeadLettered?: DeadLetterOptions['onDeadLettered'];
}

/**
 * A Nest microservice transport over the MessageBus port, so message controllers are plain
 * `@EventPattern('jobs.requested')` handlers whatever the bus is (Kafka or in-process). A handler
 * receives the parsed JSON value (or `null` when it is not JSON) and a BusContext. The offset is
 * committed after the handler resolves. A handler that throws has its failure classified
 * (classifyFailure): a bad message (a SignoffError such as `invalid_request`, an argument the store
 * refuses, a bug) is moved to `<topic>.dlq` with `error-code` / `error-detail` headers and the
 * partition moves on; an outage (`store_unavailable`, `busy`, the broker) is retried with back-off
 * until it passes. Handlers never publish dead letters themselves.
 */
export class MessageBusServer extends Server implements CustomTransportStrategy {
  private readonly subscriptions: Subscription[] = [];
  protected override readonly logger = new Logger('MessageBusServer');

  constructor(
    private readonly bus: MessageBus,
    private readonly options: MessageBusServerOptions,
  ) {
    super();
    // Without a transport id of its own, Nest hands this server every message handler of the app,
    // gRPC methods included (their patterns are not topics). With one, it gets the handlers declared
    // for no particular transport, i.e. the `@EventPattern('jobs.x')` controllers.
    this.setTransportId(MESSAGE_BUS_TRANSPORT);
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      const routes = new Map<string, (data: unknown, context: BusContext) => Promise<unknown>>();
      for (const [pattern, handler] of this.messageHandlers) routes.set(`${this.options.topicPrefix}${pattern}`, handler);
      // One consumer for all patterns of the group: Kafka's classic assigners (kafkajs's round
      // robin included) deal the partitions of every topic the group subscribes to over all members,
      // whatever each member subscribed, and a member drops partitions of topics it did not
      // subscribe to. One consumer per pattern in one group would silently lose partitions.
      if (routes.size > 0) {
        const subscription = await this.bus.subscribe({
          groupId: this.options.groupId,
          topics: [...routes.keys()],
          keyConcurrency: this.options.keyConcurrency,
          deadLetter: { onDeadLettered: this.options.onDeadLettered },
          handler: async (message) => {
            const handler = routes.get(message.topic);
            if (!handler) return;
            try {
              const result: unknown = await handler(parseValue(message), new BusContext(message));
              if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
            } catch (error) {
              if (!isSwallowedError(error)) throw error;
              // Without MessageBusErrorFilter the real error is gone: retry (as safe as it gets)
              // rather than dead-letter what may be an outage.
              this.logger.error(`a handler of ${message.topic} failed, but Nest's RPC exception filter hid why: register MessageBusErrorFilter`);
              throw new TransientMessageError('handler_failed', 'the handler failed (error hidden by the RPC exception filter)');
            }
          },
        });
        this.subscriptions.push(subscription);
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.subscriptions.splice(0).map((s) => s.stop()));
  }

  /** The messages being retried after a transient failure (readiness reports them). */
  waiting(): WaitingMessage[] {
    return this.subscriptions.flatMap((s) => s.waiting());
  }

  on(): never {
    throw new Error('MessageBusServer has no events to listen to');
  }

  unwrap<T>(): T {
    return this.bus as unknown as T;
  }
}

function parseValue(message: InboundMessage): unknown {
  if (message.value === null) return null;
  try {
    return JSON.parse(message.value.toString('utf8'));
  } catch {
    return null;
  }
}
