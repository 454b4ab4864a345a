import { DynamicModule } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { MessageBus, MessageBusServer } from '@signoff/messaging';
import { HealthRegistry, JsonLogger, SignoffMetrics, startTracing, TracingInterceptor, tracingEnabled } from '@signoff/observability';
import { ConfigDefaults, ConfigError, embeddedEnvironment, parseConfig, redactUrl, serviceEnvironment, SignoffConfig } from './config';
import { createHttpApp, installGracefulShutdown, listen } from './http-app';
import { setupOpenApi } from './openapi';
import { parseTracingEnv } from './tracing.config';

/** What a start-up hook of {@link runService} is given. */
export interface ServiceContext {
  readonly app: NestFastifyApplication;
  readonly config: SignoffConfig;
  readonly logger: JsonLogger;
  /** The HTTP base URL (`http://host:port`). */
  readonly url: string;
}

/** Builds the root module from the validated configuration (may prepare what the module needs first). */
export type RootModuleFactory = (config: SignoffConfig, logger: JsonLogger) => DynamicModule | Promise<DynamicModule>;

export interface RunServiceOptions extends ConfigDefaults {
  /**
   * Extra wiring of another transport (e.g. the gRPC microservice), started with the message bus.
   * Runs after the app listens on HTTP and the message-bus transport is connected.
   */
  readonly configure?: (app: NestFastifyApplication, config: SignoffConfig, logger: JsonLogger) => void | Promise<void>;
  /** Validates the environment (default: `.signoff/infra.env` under the process env; embedded: the process env). */
  readonly environment?: Record<string, string | undefined>;
  /**
   * Everything in one process on embedded defaults (the standalone, `npm start`): KAFKA_BROKERS
   * and an auth secret are optional (unset brokers = the in-process transport), EVENT_STORE_URL
   * defaults to `pglite://./.signoff/data`, the environment is the process env only, and the
   * consumer group is `signoff-<service>` (no topic prefix).
   */
  readonly embedded?: boolean;
  /** Who configuration errors and the OpenAPI title name (default: the service name). */
  readonly displayName?: string;
  /** Title of the OpenAPI document (default `Signoff <service>`). */
  readonly openApiTitle?: string;
  /** Runs once the transports consume, before readiness turns green (e.g. start an in-process worker). */
  readonly onStarted?: (context: ServiceContext) => void | Promise<void>;
  /** Runs once the service is ready (e.g. print how to use it). */
  readonly onReady?: (context: ServiceContext) => void | Promise<void>;
  /** Runs on SIGTERM / SIGINT after readiness turns red, before the app closes (stop what onStarted started). */
  readonly onStopping?: () => void | Promise<void>;
  /** Extra fields of the `<service> ready` log line. */
  readonly readyFields?: (config: SignoffConfig) => Record<string, unknown>;
  /** Messages of different jobs of one partition handled at once (default SERVICE_KEY_CONCURRENCY). */
  readonly keyConcurrency?: number;
}

/**
 * What a distributed service requires of its environment (KAFKA_BROKERS, an auth secret or JWKS
 * URL, besides EVENT_STORE_URL), unless its main adds more (the dispatch service: the signing key).
 */
export const DISTRIBUTED_SERVICE_DEFAULTS: ConfigDefaults = { kafkaRequired: true, authRequired: true };

/** Reads and validates the environment; a bad one exits 78 (EX_CONFIG) with every problem listed. */
export function loadConfigOrExit(service: string, env: Record<string, string | undefined>, defaults: ConfigDefaults): SignoffConfig {
  return loadOrExit(service, () => parseConfig(env, defaults));
}

/**
 * Runs a parse of the environment (`parseConfig`, `parseWorkerConfig`); a ConfigError exits 78
 * (EX_CONFIG) with `<service>: invalid configuration:` and every problem listed.
 */
export function loadOrExit<T>(service: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

/** Messages of different jobs of one partition a service handles at once. */
export const SERVICE_KEY_CONCURRENCY = 16;

/** A message retried this long after a transient failure makes the instance report not ready. */
export const WAITING_MESSAGE_READINESS_MS = 2000;

export interface ConnectMessageBusOptions {
  /** Told what start-up is waiting for while the topics are being created (readiness reports it). */
  readonly onWaiting?: (what: string) => void;
  /** Messages of different jobs of one partition handled at once (default SERVICE_KEY_CONCURRENCY). */
  readonly keyConcurrency?: number;
}

/**
 * Wires a created app to the message bus: creates every Signoff topic and its dead-letter topic
 * (partitioned by job id; retried while the broker is unreachable or electing leaders, up to
 * KAFKA_STARTUP_TIMEOUT_MS), connects the bus transport so the module's `@EventPattern` handlers
 * consume in the consumer group `groupId`, and registers readiness checks: `kafka` (the broker)
 * and `consumers` (no message stuck in a transient retry for more than 2 s; the check names it).
 * Dead-lettered messages are counted in `signoff_messages_dead_lettered_total{topic,code}`.
 */
export async function connectMessageBus(app: NestFastifyApplication, config: SignoffConfig, groupId: string, options: ConnectMessageBusOptions = {}): Promise<void> {
  const bus = app.get(MessageBus, { strict: false });
  const health = app.get(HealthRegistry, { strict: false });
  const metrics = app.get(SignoffMetrics, { strict: false });
  health.register('kafka', () => bus.ping());
  const topics = signoffTopics(config.kafkaTopicPrefix);
  await bus.ensureTopics(
    Object.values(topics).map((name) => ({ name, partitions: DEFAULT_PARTITIONS })),
    { onRetry: (reason) => options.onWaiting?.(reason) },
  );
  // Jobs are independent: messages of different jobs (keys) of one partition are handled side by
  // side, each job's messages in order.
  const server = new MessageBusServer(bus, {
    groupId,
    topicPrefix: config.kafkaTopicPrefix,
    keyConcurrency: options.keyConcurrency ?? SERVICE_KEY_CONCURRENCY,
    onDeadLettered: ({ message, failure }) => metrics.messagesDeadLettered.inc({ topic: message.topic, code: failure.code }),
  });
  health.register('consumers', async () => {
    const now = Date.now();
    const stuck = server.waiting().filter((w) => now - w.since >= WAITING_MESSAGE_READINESS_MS);
    if (stuck.length > 0) {
      const first = stuck[0];
      throw new Error(
        `${stuck.length} message(s) waiting for a transient failure to pass, e.g. ${first.topic}[${first.partition}]@${first.offset} ` +
          `retried ${first.attempts} times for ${Math.round((now - first.since) / 1000)} s: ${first.code}: ${first.detail}`,
      );
    }
  });
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
}

/**
 * The one way a Signoff app starts (every service's main.ts and the standalone's): read and
 * validate the environment once (`.signoff/infra.env` under the process env; a bad one exits 78
 * naming every problem), build the root module, listen (so `/health/live` answers and
 * `/health/ready` says what start-up waits for), then connect the message bus (topics, consumer
 * group; transient broker errors are retried until KAFKA_STARTUP_TIMEOUT_MS, then start-up fails
 * with a message naming what it waited for), the extra transports of `configure` (gRPC), start
 * consuming, run `onStarted`, and turn ready. SIGTERM / SIGINT drain readiness, run `onStopping`
 * and close the app. `embedded` is the standalone: see {@link RunServiceOptions.embedded}.
 */
export async function runService(
  service: string,
  rootModule: { forRoot(config: SignoffConfig): DynamicModule } | RootModuleFactory,
  options: RunServiceOptions = {},
): Promise<void> {
  const { configure, environment, embedded = false, displayName = service, openApiTitle, onStarted, onReady, onStopping, readyFields, keyConcurrency, ...overrides } = options;
  const defaults: ConfigDefaults = embedded
    ? { eventStoreUrl: EMBEDDED_EVENT_STORE_URL, ...overrides }
    : { ...DISTRIBUTED_SERVICE_DEFAULTS, ...overrides };
  const env = environment ?? (embedded ? embeddedEnvironment() : serviceEnvironment());
  const config = loadConfigOrExit(displayName, env, defaults);
  // Tracing first (OTEL_*; off by default): the message bus the module builds is traced only if it is on by then.
  startTracing(loadOrExit(displayName, () => parseTracingEnv(env, service)));
  const logger = new JsonLogger(service, config.logLevel);
  // A root module class is a function too: tell it from a factory by its forRoot.
  const module = 'forRoot' in rootModule ? rootModule.forRoot(config) : await rootModule(config, logger);
  const app = await createHttpApp(module, { service, logger });
  // The ingress span of each HTTP request (the bus transport inherits it and lets bus messages through untouched).
  if (tracingEnabled()) app.useGlobalInterceptors(new TracingInterceptor('http'));
  const health = app.get(HealthRegistry);
  health.startingUp(config.kafkaBrokers.length > 0 ? 'the Kafka topics' : 'the in-process transport');
  setupOpenApi(app, openApiTitle ?? `Signoff ${displayName}`);
  installGracefulShutdown(app, logger, async () => {
    health.markShuttingDown();
    await onStopping?.();
  });
  const url = await listen(app, config.port, config.host);
  const transport = config.kafkaBrokers.length > 0 ? `kafka ${config.kafkaBrokers.join(',')}` : 'in-process';
  logger.emit('info', `${service} listening; connecting to ${config.kafkaBrokers.length > 0 ? 'Kafka' : 'the in-process transport'}`, {
    url,
    ...(embedded ? { transport } : { kafka: config.kafkaBrokers.join(',') }),
    eventStore: redactUrl(config.eventStoreUrl),
  });
  try {
    // The group includes the topic prefix: two deployments with different prefixes on one cluster
    // must not share a consumer group (the group's assignment would drop partitions). The
    // standalone's group has always been `signoff-standalone`.
    const groupId = embedded ? `signoff-${service}` : `${config.kafkaTopicPrefix}${service}`;
    await connectMessageBus(app, config, groupId, { onWaiting: (what) => health.startingUp(`the Kafka topics (${what})`), ...(keyConcurrency ? { keyConcurrency } : {}) });
    await configure?.(app, config, logger);
    health.startingUp(config.kafkaBrokers.length > 0 ? `the Kafka consumer group ${groupId}` : 'the in-process consumers');
    await app.startAllMicroservices();
    await onStarted?.({ app, config, logger, url });
    health.startupComplete();
  } catch (error) {
    // A SIGTERM during start-up closes the bus under the waiting steps: the shutdown exits 0.
    if (health.isShuttingDown) return new Promise<void>(() => undefined);
    throw error;
  }
  logger.emit('info', `${service} ready`, { url, ...readyFields?.(config) });
  await onReady?.({ app, config, logger, url });
}

/** The standalone's event store when EVENT_STORE_URL is unset (DESIGN §10). */
export const EMBEDDED_EVENT_STORE_URL = 'pglite://./.signoff/data';
