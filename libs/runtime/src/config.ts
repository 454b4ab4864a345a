import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { keySetSourceProblem } from '@signoff/keys';
import { ServiceEnvName, WorkerEnvName } from './config-env';
import { readSlackConfig, SlackConfig } from './slack.config';
import { readWebhooksConfig, WebhooksConfig } from './webhooks.config';
import { McpGatewayEmbeddedConfig, readMcpGatewayEmbedded } from './mcp-gateway.config';

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
  /** The reviewer console's server key (CSRF tokens), CONSOLE_SESSION_SECRET; null = derived from the auth secret. */
  readonly consoleSessionSecret: string | null;
  /** Longest token lifetime accepted (exp - iat, or exp - now without iat), AUTH_JWT_MAX_TTL_SECONDS (24 h). */
  readonly authJwtMaxTtlSeconds: number;
  /** Required `iss` when set (AUTH_JWT_ISSUER). */
  readonly authJwtIssuer: string | null;
  /** Required `aud` when set (AUTH_JWT_AUDIENCE). */
  readonly authJwtAudience: string | null;
  readonly snapshotMode: SnapshotMode;
  readonly dispatchGraceMs: number;
  readonly workerAckTimeoutMs: number;
  /**
   * WORKER_RUN_TIMEOUT_MS: how long a job may stay RUNNING (a worker reported `started`) without an
   * outcome before the replay consumer replays it (the worker then reports the stored outcome,
   * waits for a live claim, or applies the takeover rules of the worker SDK).
   */
  readonly workerRunTimeoutMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Submit-time evaluation timeout: past it, 503 policy_unavailable and nothing stored (DESIGN §4: 5 s). */
  readonly policyEvaluationTimeoutMs: number;
  /**
   * The longest one synchronous stretch of a policy evaluation may hold the event loop
   * (POLICY_EVALUATION_BUDGET_MS, default 100): past it, 503 policy_unavailable and nothing stored.
   */
  readonly policyEvaluationBudgetMs: number;
  /** Request and result paths redacted for every reader of history: the audit stream, the CLI export, the read API (AUDIT_REDACT_FIELDS, comma separated). */
  readonly auditRedactFields: readonly string[];
  /**
   * SIGNOFF_SIGNING_KEY_FILE: the control plane's Ed25519 private key (a private JWK with `kid`, a
   * JWK Set of private keys, or a PKCS#8 PEM) that signs dispatch grants. Required by the dispatch
   * service; the standalone generates one in its data directory when unset.
   */
  readonly signingKeyFile: string | null;
  /** SIGNOFF_SIGNING_KEY_ID: the key id of a PEM key, or the current (signing) key of a JWK Set. */
  readonly signingKeyId: string | null;
  /** DISPATCH_GRANT_TTL_MS: how long a dispatch grant stays valid after it was signed (default 1 h). */
  readonly grantTtlMs: number;
  /**
   * KAFKA_INGRESS_TRUSTED=true: `signoff.jobs.requested` takes `submitted_by` from the message body
   * when a message carries no credential (a trusted network only; off by default).
   */
  readonly kafkaIngressTrusted: boolean;
  /** SIGNOFF_WORKER_TOKEN: the in-process worker's credential (standalone with AUTH_JWKS_URL). */
  readonly workerToken: string | null;
  /** DISPATCH_MAX_ATTEMPTS: dispatch attempts (first dispatch + replays) before a job is abandoned (1..100, default 5). */
  readonly dispatchMaxAttempts: number;
  /**
   * TEST ONLY (SIGNOFF_FAULT, SIGNOFF_FAULT_JOB): where the dispatch service kills itself, to prove
   * a dispatcher dying between its steps loses nothing. Never set in a deployment.
   */
  readonly dispatchFault: DispatchFaultConfig | null;
  /** Outbound webhooks (SIGNOFF_WEBHOOKS_FILE, WEBHOOK_*): no endpoints when the file is unset. */
  readonly webhooks: WebhooksConfig;
  /** Slack approvals (SIGNOFF_SLACK_FILE): null when unset. Outbound retries use the WEBHOOK_* tunables. */
  readonly slack: SlackConfig | null;
  /** AUDIT_TREE_HEAD_INTERVAL_MS: how often the audit tree signs a head when it has grown (default 60 s). */
  readonly auditTreeHeadIntervalMs: number;
  /** AUDIT_TREE_POLL_MS: how often the audit tree reads the log once caught up (default 200 ms). */
  readonly auditTreePollMs: number;
  /**
   * SUBSCRIPTION_LEASE_MS (500..600000, default 5000): the lease of a durable subscription (the
   * relays, webhook deliveries): one instance of a service handles each, the others take over once
   * it stopped renewing for this long (at once after a clean stop).
   */
  readonly subscriptionLeaseMs: number;
  /** The in-process MCP gateway of the standalone (SIGNOFF_MCP_GATEWAY, MCP_GATEWAY_*): null when unset. */
  readonly mcpGateway: McpGatewayEmbeddedConfig | null;
}

/** Points of the dispatch path where the test-only fault hook (SIGNOFF_FAULT) kills the dispatcher. */
export const DISPATCH_FAULT_POINTS = ['crash-after-claim', 'crash-after-publish'] as const;

/** The test-only dispatch fault hook: `SIGNOFF_FAULT=<point>`, optionally scoped with `SIGNOFF_FAULT_JOB=<job id>`. */
export interface DispatchFaultConfig {
  readonly point: (typeof DISPATCH_FAULT_POINTS)[number];
  /** Only the dispatch of this job id triggers it (default: the first dispatch of any job). */
  readonly jobId?: string;
}

/** Default of DISPATCH_MAX_ATTEMPTS. */
export const DEFAULT_DISPATCH_MAX_ATTEMPTS = 5;

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
  /** Whether SIGNOFF_SIGNING_KEY_FILE must be set (the dispatch service signs every dispatch). */
  readonly signingKeyRequired?: boolean;
  /**
   * Whether a worker runs in-process (the standalone): it reports with a worker credential, minted
   * with the standalone's secret, so with AUTH_JWKS_URL (tokens from an external issuer) SIGNOFF_WORKER_TOKEN must be set.
   */
  readonly inProcessWorker?: boolean;
}

/**
 * Parses and validates the environment. Pure: takes the variables as a record, so tests need no
 * process state. Throws ConfigError listing every bad value.
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, defaults: ConfigDefaults = {}): SignoffConfig {
  const problems: string[] = [];
  // Only the names of SERVICE_ENV_NAMES can be read (the README and deploy/k8s are checked against that list).
  const raw = (name: ServiceEnvName): string | undefined => env[name];
  const str = (name: ServiceEnvName) => {
    const v = raw(name);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: ServiceEnvName, fallback: number, min: number, max: number): number => {
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
  const kafkaTopicPrefix = raw('KAFKA_TOPIC_PREFIX') ?? DEFAULT_TOPIC_PREFIX;
  const prefixProblem = topicPrefixProblem(kafkaTopicPrefix);
  if (prefixProblem) problems.push(prefixProblem);
  const kafkaStartupTimeoutMs = int('KAFKA_STARTUP_TIMEOUT_MS', 60_000, 1000, 3_600_000);
  const policyPath = str('POLICY_PATH') ?? 'policies/default.yaml';
  const authJwtSecret = str('AUTH_JWT_SECRET') ?? null;
  if (authJwtSecret !== null && authJwtSecret.length < 32) problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  const authJwksUrl = str('AUTH_JWKS_URL') ?? null;
  const consoleSessionSecret = str('CONSOLE_SESSION_SECRET') ?? null;
  if (consoleSessionSecret !== null && consoleSessionSecret.length < 32) problems.push('CONSOLE_SESSION_SECRET must be at least 32 characters');
  if (authJwksUrl !== null) {
    const problem = jwksUrlProblem(authJwksUrl);
    if (problem) problems.push(problem);
  }
  const authJwtMaxTtlSeconds = int('AUTH_JWT_MAX_TTL_SECONDS', DEFAULT_AUTH_JWT_MAX_TTL_SECONDS, 60, 30 * 86_400);
  const authJwtIssuer = str('AUTH_JWT_ISSUER') ?? null;
  const authJwtAudience = str('AUTH_JWT_AUDIENCE') ?? null;
  if (defaults.authRequired && authJwtSecret === null && authJwksUrl === null) {
    problems.push('AUTH_JWT_SECRET (HS256, at least 32 characters) or AUTH_JWKS_URL is required for this service');
  }
  const modeRaw = str('SNAPSHOT_MODE') ?? 'strict';
  if (modeRaw !== 'strict' && modeRaw !== 'decision') problems.push(`SNAPSHOT_MODE=${modeRaw} must be strict or decision`);
  const snapshotMode: SnapshotMode = modeRaw === 'decision' ? 'decision' : 'strict';
  const dispatchGraceMs = int('DISPATCH_GRACE_MS', 2000, 0, 86_400_000);
  const workerAckTimeoutMs = int('WORKER_ACK_TIMEOUT_MS', 30_000, 1, 86_400_000);
  const workerRunTimeoutMs = int('WORKER_RUN_TIMEOUT_MS', 300_000, 1, 86_400_000);
  const policyEvaluationTimeoutMs = int('POLICY_EVALUATION_TIMEOUT_MS', 5000, 1, 600_000);
  const policyEvaluationBudgetMs = int('POLICY_EVALUATION_BUDGET_MS', Math.min(100, policyEvaluationTimeoutMs), 1, 60_000);
  if (policyEvaluationBudgetMs > policyEvaluationTimeoutMs) {
    problems.push(`POLICY_EVALUATION_BUDGET_MS=${policyEvaluationBudgetMs} must not exceed POLICY_EVALUATION_TIMEOUT_MS=${policyEvaluationTimeoutMs}`);
  }
  const levelRaw = str('LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(levelRaw)) problems.push(`LOG_LEVEL=${levelRaw} must be debug, info, warn or error`);
  const host = str('HOST') ?? '127.0.0.1';
  const signingKeyFile = str('SIGNOFF_SIGNING_KEY_FILE') ?? null;
  if (defaults.signingKeyRequired && signingKeyFile === null) {
    problems.push('SIGNOFF_SIGNING_KEY_FILE is required for this service (an Ed25519 private JWK or PKCS#8 PEM; `npm run cli -- keys generate --out DIR` makes one)');
  }
  const grantTtlMs = int('DISPATCH_GRANT_TTL_MS', 3_600_000, 1000, 7 * 86_400_000);
  const trustedRaw = (str('KAFKA_INGRESS_TRUSTED') ?? 'false').toLowerCase();
  if (!['true', 'false', '1', '0'].includes(trustedRaw)) problems.push(`KAFKA_INGRESS_TRUSTED=${trustedRaw} must be true or false`);
  const workerToken = str('SIGNOFF_WORKER_TOKEN') ?? null;
  if (defaults.inProcessWorker && authJwksUrl !== null && workerToken === null) {
    problems.push('with AUTH_JWKS_URL, set SIGNOFF_WORKER_TOKEN (a JWT with the role worker) for the in-process worker');
  }
  const dispatchMaxAttempts = int('DISPATCH_MAX_ATTEMPTS', DEFAULT_DISPATCH_MAX_ATTEMPTS, 1, 100);
  const faultRaw = str('SIGNOFF_FAULT');
  let dispatchFault: DispatchFaultConfig | null = null;
  if (faultRaw !== undefined) {
    if (!(DISPATCH_FAULT_POINTS as readonly string[]).includes(faultRaw)) {
      problems.push(`SIGNOFF_FAULT=${faultRaw} must be crash-after-claim or crash-after-publish (test only)`);
    } else {
      const point = faultRaw as DispatchFaultConfig['point'];
      const jobId = str('SIGNOFF_FAULT_JOB');
      dispatchFault = jobId ? { point, jobId } : { point };
    }
  }

  const auditRedactFields = (str('AUDIT_REDACT_FIELDS') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  const signingKeyId = str('SIGNOFF_SIGNING_KEY_ID') ?? null;
  const webhooks = readWebhooksConfig(str('SIGNOFF_WEBHOOKS_FILE'), int, problems);
  const slack = readSlackConfig(str('SIGNOFF_SLACK_FILE'), problems);
  const auditTreeHeadIntervalMs = int('AUDIT_TREE_HEAD_INTERVAL_MS', 60_000, 1000, 86_400_000);
  const auditTreePollMs = int('AUDIT_TREE_POLL_MS', 200, 10, 60_000);
  const subscriptionLeaseMs = int('SUBSCRIPTION_LEASE_MS', 5_000, 500, 600_000);
  const mcpGateway = readMcpGatewayEmbedded(str('SIGNOFF_MCP_GATEWAY'), int, problems);

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
    consoleSessionSecret,
    authJwtMaxTtlSeconds,
    authJwtIssuer,
    authJwtAudience,
    snapshotMode,
    dispatchGraceMs,
    workerAckTimeoutMs,
    workerRunTimeoutMs,
    logLevel: levelRaw as SignoffConfig['logLevel'],
    policyEvaluationTimeoutMs,
    policyEvaluationBudgetMs,
    auditRedactFields,
    signingKeyFile,
    signingKeyId,
    grantTtlMs,
    kafkaIngressTrusted: trustedRaw === 'true' || trustedRaw === '1',
    workerToken,
    dispatchMaxAttempts,
    dispatchFault,
    webhooks,
    slack,
    auditTreeHeadIntervalMs,
    auditTreePollMs,
    subscriptionLeaseMs,
    mcpGateway,
  };
}

/** How a worker's side effect relates to its completion (the worker SDK's modes; WORKER_MODE). */
export const WORKER_MODES = ['transactional', 'idempotent', 'external'] as const;

/** Points of a run where the test-only worker fault hook (WORKER_FAULT) kills the worker. */
export const WORKER_FAULT_POINTS = ['after-claim', 'after-effect', 'before-complete'] as const;

/** The topic prefix every service, worker and gateway uses unless KAFKA_TOPIC_PREFIX says otherwise. */
export const DEFAULT_TOPIC_PREFIX = 'signoff.';

/**
 * A worker's consumer group when WORKER_GROUP_ID is not set: `signoff-<name>` under the default
 * topic prefix (the name deployments already have offsets under), `<prefix><name>` under any other.
 * Two deployments that share a broker under different prefixes must not share a group: kafkajs's
 * round-robin assigner hands every partition the group's members subscribe to, to any member,
 * so one deployment's workers would be given (and leave unread) the other's dispatch partitions.
 */
export function topicPrefixProblem(prefix: string): string | null {
  return /^[A-Za-z0-9._-]*$/.test(prefix) ? null : `KAFKA_TOPIC_PREFIX=${JSON.stringify(prefix)} may only hold letters, digits, . _ -`;
}

export function defaultWorkerGroupId(topicPrefix: string, name: string): string {
  return topicPrefix === DEFAULT_TOPIC_PREFIX ? `signoff-${name}` : `${topicPrefix}${name}`;
}

/** The configuration of a worker process on the worker SDK (the demo worker, `npm run start:worker`). */
export interface WorkerConfig {
  /** KAFKA_BROKERS (required). */
  readonly brokers: string[];
  /** KAFKA_TOPIC_PREFIX (default `signoff.`). */
  readonly topicPrefix: string;
  /** WORKER_DATABASE_URL, else EVENT_STORE_URL: where claims and side effects are kept (`postgres://…`, `pglite://<dir>`). */
  readonly databaseUrl: string;
  /** WORKER_ID (default `<host>:<pid>`). */
  readonly workerId: string;
  /** WORKER_GROUP_ID (default `signoff-demo-worker`; under another KAFKA_TOPIC_PREFIX, `<prefix>demo-worker`). */
  readonly groupId: string;
  /** WORKER_LEASE_MS (default 30000, at least 100). */
  readonly leaseMs: number;
  /** DEMO_WORK_MS: simulated work per job (default 0). */
  readonly workMs: number;
  /** WORKER_MODE (default `transactional`). */
  readonly mode: (typeof WORKER_MODES)[number];
  /** TEST ONLY: WORKER_FAULT, optionally scoped with WORKER_FAULT_JOB. */
  readonly fault: { readonly point: (typeof WORKER_FAULT_POINTS)[number]; readonly jobId: string | null } | null;
  /** PORT (default 8083): health and metrics. */
  readonly port: number;
  readonly host: string;
  /** LOG_LEVEL (an unknown value means `info`). */
  readonly logLevel: SignoffConfig['logLevel'];
  /** SIGNOFF_GRANT_JWKS (required): the control plane's public keys, a JWK Set file or an https URL. */
  readonly grantJwks: string;
  /** SIGNOFF_WORKER_TOKEN (required): this worker's credential (a JWT with the role `worker`). */
  readonly workerToken: string;
}

/**
 * Parses and validates a worker's environment (see {@link WorkerConfig}). Pure, like
 * {@link parseConfig}: throws ConfigError listing every bad value.
 */
export function parseWorkerConfig(env: Readonly<Record<string, string | undefined>>): WorkerConfig {
  const problems: string[] = [];
  // Only the names of WORKER_ENV_NAMES can be read.
  const read = (name: WorkerEnvName): string | undefined => env[name];
  const brokers = (read('KAFKA_BROKERS') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required (host:port[,host:port…])');
  for (const b of brokers) if (!/^[^\s:/]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entry "${b}" must be host:port`);
  const databaseUrl = read('WORKER_DATABASE_URL')?.trim() || read('EVENT_STORE_URL')?.trim() || '';
  if (!/^(postgres|postgresql|pglite):\/\/./.test(databaseUrl)) problems.push('WORKER_DATABASE_URL (or EVENT_STORE_URL) must be postgres://… or pglite://<dir>');
  const int = (name: WorkerEnvName, fallback: number, max: number): number => {
    const raw = read(name)?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max) {
      problems.push(`${name}=${raw} must be an integer from 0 to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const grantJwks = read('SIGNOFF_GRANT_JWKS')?.trim() ?? '';
  if (grantJwks === '') problems.push('SIGNOFF_GRANT_JWKS is required (the control plane\'s public JWK Set: a file or an https URL such as <dispatch>/.well-known/jwks.json)');
  else {
    const problem = keySetSourceProblem(grantJwks);
    if (problem) problems.push(`SIGNOFF_GRANT_JWKS ${problem}`);
  }
  const workerToken = read('SIGNOFF_WORKER_TOKEN')?.trim() ?? '';
  if (workerToken === '') problems.push('SIGNOFF_WORKER_TOKEN is required (a JWT with the role worker: `npm run cli -- token --sub NAME --roles worker`)');
  const leaseMs = int('WORKER_LEASE_MS', 30_000, 3_600_000);
  if (leaseMs < 100) problems.push('WORKER_LEASE_MS must be at least 100');
  const mode = (read('WORKER_MODE')?.trim() || 'transactional') as WorkerConfig['mode'];
  if (!WORKER_MODES.includes(mode)) problems.push(`WORKER_MODE=${mode} must be one of ${WORKER_MODES.join(', ')}`);
  const faultPoint = read('WORKER_FAULT')?.trim() as NonNullable<WorkerConfig['fault']>['point'] | undefined;
  if (faultPoint && !WORKER_FAULT_POINTS.includes(faultPoint)) problems.push(`WORKER_FAULT=${faultPoint} must be one of ${WORKER_FAULT_POINTS.join(', ')} (test only)`);
  const topicPrefix = read('KAFKA_TOPIC_PREFIX') ?? DEFAULT_TOPIC_PREFIX;
  const prefixProblem = topicPrefixProblem(topicPrefix);
  if (prefixProblem) problems.push(prefixProblem);
  const config: WorkerConfig = {
    brokers,
    topicPrefix,
    databaseUrl,
    workerId: read('WORKER_ID')?.trim() || `${hostname()}:${process.pid}`,
    groupId: read('WORKER_GROUP_ID')?.trim() || defaultWorkerGroupId(topicPrefix, 'demo-worker'),
    leaseMs,
    workMs: int('DEMO_WORK_MS', 0, 600_000),
    mode,
    fault: faultPoint ? { point: faultPoint, jobId: read('WORKER_FAULT_JOB')?.trim() || null } : null,
    port: int('PORT', 8083, 65535),
    host: read('HOST')?.trim() || '127.0.0.1',
    logLevel: (['debug', 'info', 'warn', 'error'].includes(read('LOG_LEVEL') ?? '') ? read('LOG_LEVEL') : 'info') as WorkerConfig['logLevel'],
    grantJwks,
    workerToken,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Default of AUTH_JWT_MAX_TTL_SECONDS: tokens live at most 24 hours. */
export const DEFAULT_AUTH_JWT_MAX_TTL_SECONDS = 86_400;

/** Hosts AUTH_JWKS_URL may reach over plain http (tests, development). */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Keys fetched over plain http can be replaced by anyone on the path, and with them every token:
 * AUTH_JWKS_URL must be https, except on a loopback host.
 */
function jwksUrlProblem(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `AUTH_JWKS_URL=${raw} is not a URL`;
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return `AUTH_JWKS_URL=${redactUrl(raw)} must be an https URL (plain http only on 127.0.0.1, ::1 or localhost)`;
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

/** The environment of the standalone (`npm start`): the process env only (no `.signoff/infra.env`). */
export function embeddedEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
