import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger, shutdownTracing } from '@signoff/observability';
import { onClientError, onFrameworkError } from './framework-errors';
import { ProblemJsonFilter } from './problem.filter';

export interface HttpAppOptions {
  readonly service: string;
  /** Body limit in bytes (DESIGN section 4: 1 MiB). */
  readonly bodyLimit?: number;
  readonly logger?: JsonLogger;
}

/** The API prefix; ops endpoints (/metrics, /health/*, /docs, /.well-known/jwks.json) and the reviewer console (/console) stay at the root. */
export const API_PREFIX = 'api/v1';

/**
 * Creates a Nest application on Fastify with Signoff's conventions: `/api/v1` prefix,
 * problem+json errors, JSON logs, shutdown hooks.
 */
export async function createHttpApp(module: Type<unknown> | DynamicModule, options: HttpAppOptions): Promise<NestFastifyApplication> {
  // maxParamLength: job ids may be 200 characters (ID_PATTERN); Fastify's default of 100 answered 414.
  // clientErrorHandler / frameworkErrors: refusals of the HTTP parser and the router (431, 414, a
  // malformed URL) happen before Nest's filter can see them; they are problem+json all the same.
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: false,
    routerOptions: { maxParamLength: 2048 },
    clientErrorHandler: onClientError,
    frameworkErrors: onFrameworkError,
  });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    logger: options.logger ?? new JsonLogger(options.service),
    bufferLogs: false,
    // PUT /policy reports errors at line:column of the text the client sent, JSON included.
    rawBody: true,
  });
  // Policy bundles may be sent as YAML.
  app
    .getHttpAdapter()
    .getInstance()
    .addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'], { parseAs: 'string', bodyLimit: options.bodyLimit ?? 1024 * 1024 }, (_req, body, done) => done(null, body));
  app.setGlobalPrefix(API_PREFIX, { exclude: ['metrics', 'health/live', 'health/ready', 'docs', 'docs/{*path}', '.well-known/jwks.json', 'console', 'console/{*path}'] });
  app.useGlobalFilters(new ProblemJsonFilter());
  return app;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: readiness turns unavailable, Nest's shutdown hooks run
 * (consumers stop, stores close), then the process exits 0. A second signal exits at once.
 */
export function installGracefulShutdown(app: INestApplication, logger: JsonLogger, onStopping?: () => void | Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.emit('warn', `second ${signal}: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger.emit('info', `${signal} received: shutting down`);
    const force = setTimeout(() => {
      logger.emit('error', 'shutdown took longer than 20 s: exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    Promise.resolve()
      .then(() => onStopping?.())
      .then(() => app.close())
      // The spans of the last requests are exported before the process exits.
      .then(() => shutdownTracing())
      .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.emit('error', 'shutdown failed', { error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Listens and returns the base URL. */
export async function listen(app: INestApplication, port: number, host: string): Promise<string> {
  await app.listen(port, host);
  const address = app.getHttpServer().address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return `http://${host}:${actualPort}`;
}
