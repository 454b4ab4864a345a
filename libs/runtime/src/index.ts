export * from './config';
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
  type RootModuleFactory,
  type RunServiceOptions,
  type ServiceContext,
} from './service-main';
export * from './auth';
export { setupOpenApi } from './openapi';
export { parseTracingEnv } from './tracing.config';
