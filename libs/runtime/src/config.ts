import fs from 'node:fs';
import path from 'node:path';

export type SnapshotMode = 'strict' | 'decision';

/** Signoff's configuration (DESIGN section 10), read once at the composition root. */
export interface SignoffConfig {
  readonly host: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly eventStoreUrl: string;
  /** Empty = the in-process transport (standalone only). */
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopicPrefix: string;
  /**
   * How long start-up waits for the broker (reachable, topics created with leaders, the consumer
   * group joined) before the service gives up and exits 1 (KAFKA_STARTUP_TIMEOUT_MS, default 60 s).
   */
  readonly kafkaStartupTimeoutMs: number;
  readonly policyPath: string;
  readonly authJwtSecret: string | null;
  readonly authJwksUrl: string | null;
  readonly snapshotMode: SnapshotMode;
  readonly dispatchGraceMs: number;
  readonly workerAckTimeoutMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Submit-time evaluation timeout: past it, 503 policy_unavailable and nothing stored (DESIGN §4: 5 s). */
  readonly policyEvaluationTimeoutMs: number;
  /** Request paths redacted in the audit stream and logs (AUDIT_REDACT_FIELDS, comma separated). */
  readonly auditRedactFields: readonly string[];
}

/** Start-up stops with every problem of the environment listed at once. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigDefaults {
  readonly port?: number;
  readonly eventStoreUrl?: string;
  /** Whether an unset KAFKA_BROKERS is allowed (standalone) or an error (distributed services). */
  readonly kafkaRequired?: boolean;
  /** Whether AUTH_JWT_SECRET or AUTH_JWKS_URL must be set (services with an authenticated API). */
  readonly authRequired?: boolean;
}

/**
 * Parses and validates the environment. Pure: takes the variables as a record, so tests need no
 * process state. Throws ConfigError listing every bad value.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, defaults: ConfigDefaults = {}): SignoffConfig {
  const problems: string[] = [];
  const str = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${raw} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };

  const port = int('PORT', defaults.port ?? 8080, 0, 65535);
  const grpcPort = int('GRPC_PORT', 50051, 0, 65535);
  const eventStoreUrl = str('EVENT_STORE_URL') ?? defaults.eventStoreUrl;
  if (!eventStoreUrl) problems.push('EVENT_STORE_URL is required (postgres://…, kurrentdb://…, esdb://… or pglite://<dir>)');
  else if (!/^(postgres|postgresql|pglite|kurrentdb|kurrentdb\+discover|esdb|esdb\+discover):\/\//.test(eventStoreUrl)) {
    problems.push(`EVENT_STORE_URL=${redactUrl(eventStoreUrl)} must start with postgres://, pglite://, kurrentdb:// or esdb://`);
  }
  const brokersRaw = str('KAFKA_BROKERS');
  const kafkaBrokers = brokersRaw ? brokersRaw.split(',').map((b) => b.trim()).filter(Boolean) : [];
  for (const b of kafkaBrokers) if (!/^[^\s:/]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entry "${b}" must be host:port`);
  if (defaults.kafkaRequired && kafkaBrokers.length === 0) problems.push('KAFKA_BROKERS is required for this service (host:port[,host:port…])');
  const kafkaTopicPrefix = env.KAFKA_TOPIC_PREFIX ?? 'signoff.';
  if (!/^[A-Za-z0-9._-]*$/.test(kafkaTopicPrefix)) problems.push(`KAFKA_TOPIC_PREFIX=${kafkaTopicPrefix} may only hold letters, digits, . _ -`);
  const kafkaStartupTimeoutMs = int('KAFKA_STARTUP_TIMEOUT_MS', 60_000, 1000, 3_600_000);
  const policyPath = str('POLICY_PATH') ?? 'policies/default.yaml';
  const authJwtSecret = str('AUTH_JWT_SECRET') ?? null;
  if (authJwtSecret !== null && authJwtSecret.length < 32) problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  const authJwksUrl = str('AUTH_JWKS_URL') ?? null;
  if (authJwksUrl !== null && !/^https?:\/\//.test(authJwksUrl)) problems.push('AUTH_JWKS_URL must be an http(s) URL');
  if (defaults.authRequired && authJwtSecret === null && authJwksUrl === null) {
    problems.push('AUTH_JWT_SECRET (HS256, at least 32 characters) or AUTH_JWKS_URL is required for this service');
  }
  const modeRaw = str('SNAPSHOT_MODE') ?? 'strict';
  if (modeRaw !== 'strict' && modeRaw !== 'decision') problems.push(`SNAPSHOT_MODE=${modeRaw} must be strict or decision`);
  const snapshotMode: SnapshotMode = modeRaw === 'decision' ? 'decision' : 'strict';
  const dispatchGraceMs = int('DISPATCH_GRACE_MS', 2000, 0, 86_400_000);
  const workerAckTimeoutMs = int('WORKER_ACK_TIMEOUT_MS', 30_000, 1, 86_400_000);
  const policyEvaluationTimeoutMs = int('POLICY_EVALUATION_TIMEOUT_MS', 5000, 1, 600_000);
  const levelRaw = str('LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(levelRaw)) problems.push(`LOG_LEVEL=${levelRaw} must be debug, info, warn or error`);
  const host = str('HOST') ?? '127.0.0.1';

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    host,
    port,
    grpcPort,
    eventStoreUrl: eventStoreUrl!,
    kafkaBrokers,
    kafkaTopicPrefix,
    kafkaStartupTimeoutMs,
    policyPath,
    authJwtSecret,
    authJwksUrl,
    snapshotMode,
    dispatchGraceMs,
    workerAckTimeoutMs,
    logLevel: levelRaw as SignoffConfig['logLevel'],
    policyEvaluationTimeoutMs,
    auditRedactFields: (str('AUDIT_REDACT_FIELDS') ?? '').split(',').map((p) => p.trim()).filter(Boolean),
  };
}

/** Hides the password of a connection URL for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}

/**
 * Reads `KEY=VALUE` lines of a dotenv-style file (as `npm run infra:up` writes them). Variables
 * already set in the environment win. Missing file = nothing.
 */
export function readEnvFile(file: string): Record<string, string> {
  if (!fs.existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The environment of a distributed service: `.signoff/infra.env` under the process env. */
export function serviceEnvironment(cwd = process.cwd()): Record<string, string | undefined> {
  return { ...readEnvFile(path.join(cwd, '.signoff', 'infra.env')), ...process.env };
}
