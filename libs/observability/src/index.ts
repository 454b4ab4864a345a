export { SignoffMetrics } from './metrics';
export { HealthRegistry, type ReadinessCheck, type HealthReport } from './health';
export { JsonLogger, type LogLevel } from './logger';
export { OpsController } from './ops.controller';
export { ObservabilityModule } from './observability.module';
export { redactPaths, parseRedactionList, REDACTED } from './redaction';
export { parseTraceparent, formatTraceparent, MAX_TRACEPARENT_LENGTH, type TraceParent } from './tracing/traceparent';
export {
  startTracing,
  shutdownTracing,
  tracingEnabled,
  inSpan,
  contextFromTraceparent,
  traceparentOf,
  currentTraceparent,
  continueTrace,
  TRACEPARENT_HEADER,
  TRACER_NAME,
  type TracingConfig,
  type TracingHandle,
  type TracesExporter,
  type SamplerName,
  type SpanOptions,
} from './tracing/tracing';
export { TracingInterceptor } from './tracing/tracing.interceptor';
