export * from './config';
export * from './config-env';
export * from './webhooks.config';
export * from './slack.config';
export * from './mcp-gateway.config';
export { ProblemJsonFilter, toSignoffError } from './problem.filter';
export { createHttpApp, installGracefulShutdown, listen, API_PREFIX, type HttpAppOptions } from './http-app';
export {
  runService,
  connectMessageBus,
  loadConfigOrExit,
  loadOrExit,
  EMBEDDED_EVENT_STORE_URL,
  DISTRIBUTED_SERVICE_DEFAULTS,
  type RootModuleFactory,
  type RunServiceOptions,
  type ServiceContext,
} from './service-main';
export * from './auth';
export { setupOpenApi, buildOpenApiDocument, completeOpenApiDocument, describeRoutes, problemResponse, BEARER_SCHEME, type DocumentedRoute } from './openapi';
export * from './route-problems';
export { parseTracingEnv } from './tracing.config';
