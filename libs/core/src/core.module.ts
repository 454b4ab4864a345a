import { DynamicModule, Global, Inject, Injectable, Logger, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { signoffTopics, SignoffTopics } from '@signoff/contracts';
import { EventStore, EventStoreModule, parseEventStoreUrl, type SubscriptionLeaseChange } from '@signoff/event-store';
import { MessagingModule } from '@signoff/messaging';
import { HealthRegistry, ObservabilityModule, SignoffMetrics } from '@signoff/observability';
import { InMemoryThrottleCounter, ThrottleCounter } from '@signoff/policy-engine';
import { SignoffConfig } from '@signoff/runtime';
import { Pool } from 'pg';
import { ActivePolicy } from './active-policy.service';
import { Clock, SystemClock } from './clock';
import { JobCommandHandler } from './job-command.handler';
import { PostgresThrottleCounter } from './postgres-throttle.counter';

import { SIGNOFF_CONFIG, SIGNOFF_TOPICS } from './core.tokens';
import { AUDIT_REDACT, HistoryRedaction } from './audit/history-redaction';

export interface CoreModuleOptions {
  readonly config: SignoffConfig;
  /** Kafka client id, e.g. `signoff-policy-service` (consumer groups are `<topic prefix><service>`). */
  readonly serviceName: string;
  /** Replace the clock (tests). */
  readonly clock?: Clock;
  /** Replace the throttle counters (tests: a counter that never answers). */
  readonly throttleCounter?: ThrottleCounter;
  /**
   * How often the active policy is re-read from the log (ms, default 250). Tests: an instance
   * with a long interval keeps a replaced policy in memory (the policy race of DESIGN section 12).
   */
  readonly policyPollIntervalMs?: number;
}

@Injectable()
class CoreLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(HealthRegistry) private readonly health: HealthRegistry,
    @Inject(ThrottleCounter) private readonly throttle: ThrottleCounter,
  ) {}

  onModuleInit(): void {
    this.health.register('event-store', async () => {
      await this.store.readStream('signoff-health-probe', { maxCount: 1 });
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.throttle instanceof PostgresThrottleCounter) await this.throttle.close();
  }
}

/** Logs every lease change of a durable subscription and keeps `signoff_subscription_owner` up to date. */
function subscriptionLeaseObserver(metrics: SignoffMetrics): (change: SubscriptionLeaseChange) => void {
  const logger = new Logger('SubscriptionLease');
  return (change) => {
    metrics.subscriptionOwner.set({ subscription: change.subscription }, change.owned ? 1 : 0);
    const text = `subscription ${change.subscription}: ${change.owned ? 'now handled by' : 'no longer handled by'} this instance (${change.instance}; ${change.reason})`;
    if (change.owned || change.reason.startsWith('released')) logger.log(text);
    else logger.warn(text);
  };
}

/**
 * What every Signoff service shares: configuration, the event store, the message bus, metrics and
 * health, the clock, the job command handler, the active policy and the CQRS buses.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: CoreModuleOptions): DynamicModule {
    const { config } = options;
    const target = parseEventStoreUrl(config.eventStoreUrl);
    return {
      module: CoreModule,
      imports: [
        ObservabilityModule,
        EventStoreModule.forRootAsync({
          imports: [ObservabilityModule],
          inject: [SignoffMetrics],
          useFactory: (metrics: SignoffMetrics) => ({
            url: config.eventStoreUrl,
            subscriptions: { subscriptionLeaseMs: config.subscriptionLeaseMs, onSubscriptionLease: subscriptionLeaseObserver(metrics) },
          }),
        }),
        MessagingModule.forRoot({ brokers: config.kafkaBrokers, clientId: options.serviceName, startupTimeoutMs: config.kafkaStartupTimeoutMs }),
      ],
      providers: [
        { provide: SIGNOFF_CONFIG, useValue: config },
        { provide: SIGNOFF_TOPICS, useValue: signoffTopics(config.kafkaTopicPrefix) },
        { provide: AUDIT_REDACT, useValue: config.auditRedactFields },
        { provide: Clock, useValue: options.clock ?? new SystemClock() },
        {
          provide: ThrottleCounter,
          // Shared counters need a shared database: PostgreSQL when the event store is one.
          // PGlite is in-process (one instance), KurrentDB has no counters: in-memory there.
          useFactory: () =>
            options.throttleCounter ??
            (target.kind === 'postgres'
              ? new PostgresThrottleCounter(new Pool({ connectionString: config.eventStoreUrl, max: 4 }))
              : new InMemoryThrottleCounter()),
        },
        {
          provide: JobCommandHandler,
          useFactory: (store: EventStore, metrics: SignoffMetrics) => new JobCommandHandler(store, metrics),
          inject: [EventStore, SignoffMetrics],
        },
        {
          provide: ActivePolicy,
          useFactory: (store: EventStore, health: HealthRegistry) =>
            new ActivePolicy(
              store,
              { bootstrapPath: config.policyPath, ...(options.policyPollIntervalMs !== undefined ? { pollIntervalMs: options.policyPollIntervalMs } : {}) },
              health,
            ),
          inject: [EventStore, HealthRegistry],
        },
        {
          provide: HistoryRedaction,
          useFactory: (policy: ActivePolicy) => new HistoryRedaction(policy, config.auditRedactFields),
          inject: [ActivePolicy],
        },
        CoreLifecycle,
        // The buses every transport dispatches on. Not through CqrsModule, whose discovery
        // registers handlers only at onApplicationBootstrap: each feature module registers its own
        // at instantiation (cqrsHandlers). Only the two buses are used: no EventBus, no sagas, no
        // AggregateRoot (the decider holds event-sourced state).
        CommandBus,
        QueryBus,
      ],
      exports: [SIGNOFF_CONFIG, SIGNOFF_TOPICS, AUDIT_REDACT, Clock, ThrottleCounter, JobCommandHandler, ActivePolicy, HistoryRedaction, CommandBus, QueryBus],
    };
  }
}

export type { SignoffTopics };
export { SIGNOFF_CONFIG, SIGNOFF_TOPICS };
