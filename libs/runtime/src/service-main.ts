import { DynamicModule } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { MessageBus, MessageBusServer } from '@signoff/messaging';
import { HealthRegistry, JsonLogger, SignoffMetrics } from '@signoff/observability';
import { ConfigDefaults, ConfigError, parseConfig, redactUrl, serviceEnvironment, SignoffConfig } from './config';
import { createHttpApp, installGracefulShutdown, listen } from './http-app';
import { setupOpenApi } from './openapi';

export interface RunServiceOptions extends ConfigDefaults {
  /**
   * Extra wiring of another transport (e.g. the gRPC microservice), started with the message bus.
   * Runs after the app listens on HTTP and the message-bus transport is connected.
   */
  readonly configure?: (app: NestFastifyApplication, config: SignoffConfig, logger: JsonLogger) => void | Promise<void>;
  /** Validates the environment (default: Kafka required). */
  readonly environment?: Record<string, string | undefined>;
}

/** Reads and validates the environment; a bad one exits 78 (EX_CONFIG) with every problem listed. */
export function loadConfigOrExit(service: string, env: Record<string, string | undefined>, defaults: ConfigDefaults): SignoffConfig {
  try {
    return parseConfig(env, defaults);
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
    keyConcurrency: SERVICE_KEY_CONCURRENCY,
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
 * The composition root of a distributed service: read and validate the environment once
 * (`.signoff/infra.env` under the process env), build the module, listen (so `/health/live`
 * answers and `/health/ready` says what start-up waits for), then connect the message bus
 * (topics, consumer group; transient broker errors are retried until KAFKA_STARTUP_TIMEOUT_MS,
 * then start-up fails with a message naming what it waited for) and start consuming.
 */
export async function runService(
  service: string,
  rootModule: { forRoot(config: SignoffConfig): DynamicModule },
  options: RunServiceOptions = {},
): Promise<void> {
  const config = loadConfigOrExit(service, options.environment ?? serviceEnvironment(), { kafkaRequired: true, authRequired: true, ...options });
  const logger = new JsonLogger(service, config.logLevel);
  const app = await createHttpApp(rootModule.forRoot(config), { service, logger });
  const health = app.get(HealthRegistry);
  health.startingUp('the Kafka topics');
  setupOpenApi(app, `Signoff ${service}`);
  installGracefulShutdown(app, logger, () => health.markShuttingDown());
  const url = await listen(app, config.port, config.host);
  logger.emit('info', `${service} listening; connecting to Kafka`, {
    url,
    kafka: config.kafkaBrokers.join(','),
    eventStore: redactUrl(config.eventStoreUrl),
  });
  try {
    // The group includes the topic prefix: two deployments with different prefixes on one cluster
    // must not share a consumer group (the group's assignment would drop partitions).
    const groupId = `${config.kafkaTopicPrefix}${service}`;
    await connectMessageBus(app, config, groupId, { onWaiting: (what) => health.startingUp(`the Kafka topics (${what})`) });
    await options.configure?.(app, config, logger);
    health.startingUp(`the Kafka consumer group ${groupId}`);
    await app.startAllMicroservices();
    health.startupComplete();
  } catch (error) {
    // A SIGTERM during start-up closes the bus under the waiting steps: the shutdown exits 0.
    if (health.isShuttingDown) return new Promise<void>(() => undefined);
    throw error;
  }
  logger.emit('info', `${service} ready`, { url });
}
