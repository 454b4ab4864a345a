import { DynamicModule } from '@nestjs/common';
import { HealthRegistry, JsonLogger } from '@signoff/observability';
import { MessageBus } from '@signoff/messaging';
import { ConfigDefaults, ConfigError, parseConfig, redactUrl, serviceEnvironment, SignoffConfig } from './config';
import { createHttpApp, installGracefulShutdown, listen } from './http-app';

/**
 * The composition root of a distributed service: read and validate the environment once
 * (`.signoff/infra.env` under the process env), build the module, listen, log where.
 * A bad environment stops start-up with every problem listed and exit code 78 (EX_CONFIG).
 */
export async function runService(
  service: string,
  rootModule: { forRoot(config: SignoffConfig): DynamicModule },
  defaults: ConfigDefaults = {},
): Promise<void> {
  let config: SignoffConfig;
  try {
    config = parseConfig(serviceEnvironment(), { kafkaRequired: true, ...defaults });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = new JsonLogger(service, config.logLevel);
  const app = await createHttpApp(rootModule.forRoot(config), { service, logger });
  const health = app.get(HealthRegistry);
  const bus = app.get(MessageBus, { strict: false });
  health.register('kafka', () => bus.ping());
  installGracefulShutdown(app, logger, () => health.markShuttingDown());
  const url = await listen(app, config.port, config.host);
  logger.emit('info', `${service} listening`, {
    url,
    kafka: config.kafkaBrokers.join(','),
    eventStore: redactUrl(config.eventStoreUrl),
  });
}
