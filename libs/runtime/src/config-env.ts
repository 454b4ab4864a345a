/**
 * The environment variables Signoff's processes read, in one place: `parseConfig` (the three
 * services and the standalone) and `parseWorkerConfig` (a worker on the SDK, the demo worker) can
 * only read names listed here (their readers take these types), the README's Configuration table
 * documents each one, and the Kubernetes manifests of deploy/k8s may set only these (checked by
 * deploy/k8s/k8s.unit.spec.ts). DESIGN section 10 names the core of them.
 */

/** What `parseConfig` reads. */
export const SERVICE_ENV_NAMES = [
  'PORT',
  'GRPC_PORT',
  'HOST',
  'EVENT_STORE_URL',
  'KAFKA_BROKERS',
  'KAFKA_TOPIC_PREFIX',
  'KAFKA_STARTUP_TIMEOUT_MS',
  'POLICY_PATH',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_JWT_MAX_TTL_SECONDS',
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'CONSOLE_SESSION_SECRET',
  'SNAPSHOT_MODE',
  'DISPATCH_GRACE_MS',
  'WORKER_ACK_TIMEOUT_MS',
  'WORKER_RUN_TIMEOUT_MS',
  'POLICY_EVALUATION_TIMEOUT_MS',
  'POLICY_EVALUATION_BUDGET_MS',
  'LOG_LEVEL',
  'AUDIT_REDACT_FIELDS',
  'SIGNOFF_SIGNING_KEY_FILE',
  'SIGNOFF_SIGNING_KEY_ID',
  'DISPATCH_GRANT_TTL_MS',
  'KAFKA_INGRESS_TRUSTED',
  'SIGNOFF_WORKER_TOKEN',
  'DISPATCH_MAX_ATTEMPTS',
  'SIGNOFF_FAULT',
  'SIGNOFF_FAULT_JOB',
  'SIGNOFF_WEBHOOKS_FILE',
  'WEBHOOK_MAX_ATTEMPTS',
  'WEBHOOK_TIMEOUT_MS',
  'WEBHOOK_BACKOFF_BASE_MS',
  'WEBHOOK_BACKOFF_MAX_MS',
  'WEBHOOK_CLAIM_LEASE_MS',
  'SIGNOFF_SLACK_FILE',
  'AUDIT_TREE_HEAD_INTERVAL_MS',
  'AUDIT_TREE_POLL_MS',
  'SUBSCRIPTION_LEASE_MS',
  'SIGNOFF_MCP_GATEWAY',
  'MCP_GATEWAY_PORT',
  'MCP_GATEWAY_HOLD_MS',
  'MCP_GATEWAY_PROGRESS_MS',
] as const;

/** What `parseWorkerConfig` reads. */
export const WORKER_ENV_NAMES = [
  'KAFKA_BROKERS',
  'KAFKA_TOPIC_PREFIX',
  'WORKER_DATABASE_URL',
  'EVENT_STORE_URL',
  'WORKER_ID',
  'WORKER_GROUP_ID',
  'WORKER_LEASE_MS',
  'DEMO_WORK_MS',
  'WORKER_MODE',
  'WORKER_FAULT',
  'WORKER_FAULT_JOB',
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'SIGNOFF_GRANT_JWKS',
  'SIGNOFF_WORKER_TOKEN',
] as const;

/** What `parseMcpGatewayConfig` reads (the MCP gateway as its own process, apps/mcp-gateway). */
export const MCP_GATEWAY_ENV_NAMES = [
  'SIGNOFF_MCP_GATEWAY',
  'SIGNOFF_URL',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_JWT_MAX_TTL_SECONDS',
  'AUTH_JWT_ISSUER',
  'AUTH_JWT_AUDIENCE',
  'KAFKA_BROKERS',
  'WORKER_DATABASE_URL',
  'EVENT_STORE_URL',
  'SIGNOFF_GRANT_JWKS',
  'SIGNOFF_WORKER_TOKEN',
  'WORKER_ID',
  'WORKER_GROUP_ID',
  'WORKER_LEASE_MS',
  'PORT',
  'HOST',
  'LOG_LEVEL',
  'MCP_GATEWAY_HOLD_MS',
  'MCP_GATEWAY_PROGRESS_MS',
] as const;

/** What `parseTracingEnv` reads (every process: the OpenTelemetry `OTEL_*` variables it interprets itself). */
export const TRACING_ENV_NAMES = [
  'OTEL_TRACES_EXPORTER',
  'OTEL_SDK_DISABLED',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_SERVICE_NAME',
  'SIGNOFF_TEST_TRACES_FILE',
] as const;

/**
 * Read by the OpenTelemetry SDK's OTLP exporter itself when `OTEL_TRACES_EXPORTER=otlp` (the README
 * table names these; the exporter's other `OTEL_EXPORTER_OTLP_*` tunables are the specification's).
 */
export const OTLP_EXPORTER_ENV_NAMES = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] as const;

/** Test-only hooks (faults that kill the process, the test span file): never set in a deployment, not in the README table. */
export const TEST_ONLY_ENV_NAMES: readonly EnvName[] = ['SIGNOFF_FAULT', 'SIGNOFF_FAULT_JOB', 'WORKER_FAULT', 'WORKER_FAULT_JOB', 'SIGNOFF_TEST_TRACES_FILE'];

export type ServiceEnvName = (typeof SERVICE_ENV_NAMES)[number];
export type WorkerEnvName = (typeof WORKER_ENV_NAMES)[number];
export type McpGatewayEnvName = (typeof MCP_GATEWAY_ENV_NAMES)[number];
export type TracingEnvName = (typeof TRACING_ENV_NAMES)[number] | (typeof OTLP_EXPORTER_ENV_NAMES)[number];
export type EnvName = ServiceEnvName | WorkerEnvName | McpGatewayEnvName | TracingEnvName;
