import { DynamicModule } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DEFAULT_PARTITIONS, signoffTopics } from '@signoff/contracts';
import { MessageBus, MessageBusServer } from '@signoff/messaging';
import { HealthRegistry, JsonLogger } from '@signoff/observability';
import { ConfigDefaults, ConfigError, parseConfig, redactUrl, serviceEnvironment, SignoffConfig } from './config';
import { createHttpApp, installGracefulShutdown, listen } from './http-app';
import { setupOpenApi } from './openapi';

export interface RunServiceOptions extends ConfigDefaults {
  /**
   * Extra wiring after the app is created and before it listens (e.g. the gRPC microservice).
   * Runs after the message-bus transport is connected.
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

/**
 * Wires a created app to the message bus: creates every Signoff topic (partitioned by job id),
 * connects the bus transport so the module's `@EventPattern` handlers consume in the consumer group
 * `groupId`, and registers the broker's readiness check.
 */
export async function connectMessageBus(app: NestFastifyApplication, config: SignoffConfig, groupId: string): Promise<void> {
  const bus = app.get(MessageBus, { strict: false });
  app.get(HealthRegistry, { strict: false }).register('kafka', () => bus.ping());
  const topics = signoffTopics(config.kafkaTopicPrefix);
  await bus.ensureTopics(Object.values(topics).map((name) => ({ name, partitions: DEFAULT_PARTITIONS })));
  // Jobs are independent: messages of different jobs (keys) of one partition are handled side by
  // side, each job's messages in order.
  app.connectMicroservice(
    { strategy: new MessageBusServer(bus, { groupId, topicPrefix: config.kafkaTopicPrefix, keyConcurrency: SERVICE_KEY_CONCURRENCY }) },
    { inheritAppConfig: true },
  );
}

/**
 * The composition root of a distributed service: read and validate the environment once
 * (`.signoff/infra.env` under the process env), build the module, connect the message bus,
 * listen, log where.
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
  // The group includes the topic prefix: two deployments with different prefixes on one cluster
  // must not share a consumer group (the group's assignment would drop partitions).
  await connectMessageBus(app, config, `${config.kafkaTopicPrefix}${service}`);
  await options.configure?.(app, config, logger);
  setupOpenApi(app, `Signoff ${service}`);
  installGracefulShutdown(app, logger, () => health.markShuttingDown());
  await app.startAllMicroservices();
  const url = await listen(app, config.port, config.host);
  logger.emit('info', `${service} listening`, {
    url,
    kafka: config.kafkaBrokers.join(','),
    eventStore: redactUrl(config.eventStoreUrl),
  });
}
