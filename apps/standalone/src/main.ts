import 'reflect-metadata';
import { HealthRegistry, JsonLogger } from '@signoff/observability';
import { ConfigError, createHttpApp, installGracefulShutdown, listen, parseConfig, redactUrl, SignoffConfig } from '@signoff/runtime';
import { StandaloneModule } from './app.module';

/** `npm start`: the standalone control plane on embedded defaults. */
async function main(): Promise<void> {
  let config: SignoffConfig;
  try {
    config = parseConfig(process.env, { eventStoreUrl: 'pglite://./.signoff/data' });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`signoff: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const logger = new JsonLogger('standalone', config.logLevel);
  const app = await createHttpApp(StandaloneModule.forRoot(config), { service: 'standalone', logger });
  const health = app.get(HealthRegistry);
  installGracefulShutdown(app, logger, () => health.markShuttingDown());
  const url = await listen(app, config.port, config.host);
  logger.emit('info', 'signoff standalone listening', {
    url,
    eventStore: redactUrl(config.eventStoreUrl),
    transport: config.kafkaBrokers.length > 0 ? `kafka ${config.kafkaBrokers.join(',')}` : 'in-process',
  });
  process.stdout.write(
    [
      '',
      `  Signoff is running at ${url}`,
      `    health:  ${url}/health/ready`,
      `    metrics: ${url}/metrics`,
      `  Stop it with Ctrl-C.`,
      '',
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`signoff failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
