export { SignoffMetrics } from './metrics';
export { HealthRegistry, type ReadinessCheck, type HealthReport } from './health';
export { JsonLogger, type LogLevel } from './logger';
export { OpsController } from './ops.controller';
export { ObservabilityModule } from './observability.module';
export { redactPaths, parseRedactionList, REDACTED } from './redaction';
