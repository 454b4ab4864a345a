import type { McpGatewayEnvName, ServiceEnvName } from './config-env';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { keySetSourceProblem } from '@signoff/keys';
import { TOPIC_PATTERN } from '@signoff/contracts';
import { ConfigError, DEFAULT_TOPIC_PREFIX, defaultWorkerGroupId, topicPrefixProblem } from './config';

/** An upstream MCP server's name: `[a-z0-9][a-z0-9-]{0,31}`; it is the `<server>` of `mcp.<server>.<tool>` and of the exposed `<server>__<tool>`. */
export const MCP_SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** One upstream MCP server of the gateway file: spawned over stdio, or reached over Streamable HTTP. */
export type McpUpstreamConfig =
  | {
      readonly name: string;
      readonly transport: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      readonly env: Readonly<Record<string, string>>;
      readonly cwd: string | null;
      /** Per upstream tool name: the Signoff topic its calls get instead of `mcp.<server>.<tool>`. */
      readonly topics: Readonly<Record<string, string>>;
    }
  | {
      readonly name: string;
      readonly transport: 'http';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
      readonly topics: Readonly<Record<string, string>>;
    };

/** The gateway file (SIGNOFF_MCP_GATEWAY): the upstream servers it fronts. */
export interface McpGatewayFile {
  readonly upstreams: readonly McpUpstreamConfig[];
}

const UPSTREAM_KEYS = new Set(['name', 'command', 'args', 'env', 'cwd', 'url', 'headers', 'topics']);

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function stringMap(value: unknown, where: string, problems: string[]): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problems.push(`${where} must be a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') problems.push(`${where}.${k} must be a string`);
    else out[k] = String(v);
  }
  return out;
}

/**
 * The upstreams of a gateway file (YAML or JSON: `{upstreams: [...]}`), with every problem found;
 * `source` names the file in the messages and relative `cwd`s are resolved against `baseDir`.
 */
export function parseMcpGatewayFile(text: string, source: string, baseDir = process.cwd()): { file: McpGatewayFile; problems: string[] } {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return { file: { upstreams: [] }, problems: [`${source}: not YAML or JSON: ${(error as Error).message.split('\n')[0]}`] };
  }
  const list = isRecord(doc) ? doc.upstreams : undefined;
  if (!Array.isArray(list) || list.length === 0) return { file: { upstreams: [] }, problems: [`${source}: needs \`upstreams:\`, a list of at least one upstream MCP server`] };
  if (isRecord(doc)) for (const key of Object.keys(doc)) if (key !== 'upstreams') problems.push(`${source}: unknown field ${key}`);
  const upstreams: McpUpstreamConfig[] = [];
  const seen = new Set<string>();
  list.forEach((raw, i) => {
    const at = `${source}: upstreams[${i}]`;
    if (!isRecord(raw)) {
      problems.push(`${at} must be a map`);
      return;
    }
    for (const key of Object.keys(raw)) if (!UPSTREAM_KEYS.has(key)) problems.push(`${at}: unknown field ${key}`);
    const name = typeof raw.name === 'string' ? raw.name : '';
    if (!MCP_SERVER_NAME.test(name)) problems.push(`${at}.name must be 1-32 characters of a-z, 0-9, - (starting with a letter or digit)`);
    else if (seen.has(name)) problems.push(`${at}.name ${name} is used twice`);
    seen.add(name);
    const topics = stringMap(raw.topics, `${at}.topics`, problems);
    for (const [tool, topic] of Object.entries(topics)) if (!TOPIC_PATTERN.test(topic)) problems.push(`${at}.topics.${tool}: ${topic} is not a valid topic (letters, digits, . _ -)`);
    const hasCommand = raw.command !== undefined;
    const hasUrl = raw.url !== undefined;
    if (hasCommand === hasUrl) {
      problems.push(`${at} needs exactly one of command (stdio) or url (Streamable HTTP)`);
      return;
    }
    if (hasCommand) {
      if (typeof raw.command !== 'string' || raw.command.trim() === '') problems.push(`${at}.command must be a non-empty string`);
      const args = raw.args ?? [];
      if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) problems.push(`${at}.args must be a list of strings`);
      if (raw.cwd !== undefined && typeof raw.cwd !== 'string') problems.push(`${at}.cwd must be a string`);
      if (raw.headers !== undefined) problems.push(`${at}.headers is for url upstreams`);
      upstreams.push({
        name,
        transport: 'stdio',
        command: String(raw.command),
        args: Array.isArray(args) ? args.map(String) : [],
        env: stringMap(raw.env, `${at}.env`, problems),
        cwd: typeof raw.cwd === 'string' ? path.resolve(baseDir, raw.cwd) : null,
        topics,
      });
    } else {
      let url: URL | null = null;
      try {
        url = new URL(String(raw.url));
      } catch {
        problems.push(`${at}.url is not a URL`);
      }
      if (url && url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${at}.url must be http or https`);
      if (url && (url.username || url.password)) problems.push(`${at}.url must not carry credentials (use headers)`);
      if (raw.env !== undefined || raw.args !== undefined || raw.cwd !== undefined) problems.push(`${at}: env, args and cwd are for command upstreams`);
      upstreams.push({ name, transport: 'http', url: url ? url.toString() : '', headers: stringMap(raw.headers, `${at}.headers`, problems), topics });
    }
  });
  return { file: { upstreams }, problems };
}

/** Reads the gateway file at `file` (problems are added to `problems`); null when unreadable. */
export function readMcpGatewayFile(file: string, problems: string[], variable = 'SIGNOFF_MCP_GATEWAY'): McpGatewayFile | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${variable}=${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return null;
  }
  const parsed = parseMcpGatewayFile(text, `${variable}=${file}`, path.dirname(path.resolve(file)));
  problems.push(...parsed.problems);
  return parsed.problems.length === 0 ? parsed.file : null;
}

/** The MCP gateway in the standalone (`npm start` with SIGNOFF_MCP_GATEWAY set). */
export interface McpGatewayEmbeddedConfig {
  /** SIGNOFF_MCP_GATEWAY: the gateway file. */
  readonly filePath: string;
  readonly file: McpGatewayFile;
  /** MCP_GATEWAY_PORT (default 8090): where the gateway's `/mcp` listens (on HOST). */
  readonly port: number;
  /** MCP_GATEWAY_HOLD_MS (default 30000): how long a call that needs approval is held open before the typed `approval_pending` answer. */
  readonly holdMs: number;
  /** MCP_GATEWAY_PROGRESS_MS (default 1000): the interval of progress notifications while a call is held. */
  readonly progressMs: number;
}

// Embedded in the standalone, names of SERVICE_ENV_NAMES; as its own process, of MCP_GATEWAY_ENV_NAMES.
type IntReader = (name: ServiceEnvName, fallback: number, min: number, max: number) => number;
type GatewayIntReader = (name: McpGatewayEnvName, fallback: number, min: number, max: number) => number;

/** The standalone's part of the gateway configuration; null when SIGNOFF_MCP_GATEWAY is unset. */
export function readMcpGatewayEmbedded(filePath: string | undefined, int: IntReader, problems: string[]): McpGatewayEmbeddedConfig | null {
  if (filePath === undefined) return null;
  const file = readMcpGatewayFile(filePath, problems);
  const port = int('MCP_GATEWAY_PORT', 8090, 0, 65535);
  const holdMs = int('MCP_GATEWAY_HOLD_MS', 30_000, 0, 600_000);
  const progressMs = int('MCP_GATEWAY_PROGRESS_MS', 1000, 50, 60_000);
  return file ? { filePath, file, port, holdMs, progressMs } : null;
}

/** The gateway as its own process (`apps/mcp-gateway`, `npm run start:mcp-gateway`). */
export interface McpGatewayConfig extends McpGatewayEmbeddedConfig {
  readonly host: string;
  /** SIGNOFF_URL: the Signoff API the gateway submits to (the policy service or the standalone), without `/api/v1`. */
  readonly signoffUrl: string;
  readonly auth: {
    readonly jwtSecret: string | null;
    readonly jwksUrl: string | null;
    readonly maxTtlSeconds: number;
    readonly issuer: string | null;
    readonly audience: string | null;
  };
  /** The gateway's worker: it runs approved calls (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX). */
  readonly brokers: readonly string[];
  readonly topicPrefix: string;
  /** WORKER_DATABASE_URL (else EVENT_STORE_URL): where the worker's claims are kept; shared by every gateway instance. */
  readonly databaseUrl: string;
  readonly grantJwks: string;
  readonly workerToken: string;
  readonly workerId: string;
  /** WORKER_GROUP_ID (default `signoff-mcp-gateway`; under another KAFKA_TOPIC_PREFIX, `<prefix>mcp-gateway`): every gateway instance in one group. */
  readonly groupId: string;
  readonly leaseMs: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Parses the gateway process's environment (pure); throws ConfigError listing every problem. */
export function parseMcpGatewayConfig(env: Readonly<Record<string, string | undefined>>): McpGatewayConfig {
  const problems: string[] = [];
  const str = (name: McpGatewayEnvName) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int: GatewayIntReader = (name, fallback, min, max) => {
    const raw = str(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}=${raw} must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return Number(raw);
  };
  const filePath = str('SIGNOFF_MCP_GATEWAY');
  if (filePath === undefined) problems.push('SIGNOFF_MCP_GATEWAY is required (the gateway file naming the upstream MCP servers)');
  const file = filePath === undefined ? null : readMcpGatewayFile(filePath, problems);
  const signoffUrl = (str('SIGNOFF_URL') ?? '').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(signoffUrl)) problems.push('SIGNOFF_URL is required: the Signoff API (policy service or standalone), e.g. http://127.0.0.1:8080');
  const jwtSecret = str('AUTH_JWT_SECRET') ?? null;
  const jwksUrl = str('AUTH_JWKS_URL') ?? null;
  if (jwtSecret === null && jwksUrl === null) problems.push('AUTH_JWT_SECRET or AUTH_JWKS_URL is required: the gateway verifies its clients\' tokens as the services do');
  if (jwtSecret !== null && jwtSecret.length < 32) problems.push('AUTH_JWT_SECRET must be at least 32 characters');
  const brokers = (str('KAFKA_BROKERS') ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) problems.push('KAFKA_BROKERS is required (the gateway runs approved calls as a worker)');
  for (const b of brokers) if (!/^[^\s:/]+:\d{1,5}$/.test(b)) problems.push(`KAFKA_BROKERS entry "${b}" must be host:port`);
  const topicPrefix = env.KAFKA_TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  const prefixProblem = topicPrefixProblem(topicPrefix);
  if (prefixProblem) problems.push(prefixProblem);
  const databaseUrl = str('WORKER_DATABASE_URL') ?? str('EVENT_STORE_URL') ?? '';
  if (!/^(postgres|postgresql|pglite):\/\/./.test(databaseUrl)) problems.push('WORKER_DATABASE_URL (or EVENT_STORE_URL) must be postgres://… (shared by the gateway instances) or pglite://<dir> (one instance)');
  const grantJwks = str('SIGNOFF_GRANT_JWKS') ?? '';
  if (grantJwks === '') problems.push('SIGNOFF_GRANT_JWKS is required (the control plane\'s public JWK Set: a file or <dispatch>/.well-known/jwks.json)');
  else {
    const problem = keySetSourceProblem(grantJwks);
    if (problem) problems.push(`SIGNOFF_GRANT_JWKS ${problem}`);
  }
  const workerToken = str('SIGNOFF_WORKER_TOKEN') ?? '';
  if (workerToken === '') problems.push('SIGNOFF_WORKER_TOKEN is required (a JWT with the role worker)');
  const leaseMs = int('WORKER_LEASE_MS', 30_000, 100, 3_600_000);
  const port = int('PORT', 8090, 0, 65535);
  const holdMs = int('MCP_GATEWAY_HOLD_MS', 30_000, 0, 600_000);
  const progressMs = int('MCP_GATEWAY_PROGRESS_MS', 1000, 50, 60_000);
  const level = str('LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) problems.push(`LOG_LEVEL=${level} must be debug, info, warn or error`);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    filePath: filePath!,
    file: file!,
    port,
    holdMs,
    progressMs,
    host: str('HOST') ?? '127.0.0.1',
    signoffUrl,
    auth: {
      jwtSecret,
      jwksUrl,
      maxTtlSeconds: int('AUTH_JWT_MAX_TTL_SECONDS', 86_400, 60, 30 * 86_400),
      issuer: str('AUTH_JWT_ISSUER') ?? null,
      audience: str('AUTH_JWT_AUDIENCE') ?? null,
    },
    brokers,
    topicPrefix,
    databaseUrl,
    grantJwks,
    workerToken,
    workerId: str('WORKER_ID') ?? `mcp-gateway-${hostname()}:${process.pid}`,
    groupId: str('WORKER_GROUP_ID') ?? defaultWorkerGroupId(topicPrefix, 'mcp-gateway'),
    leaseMs,
    logLevel: level as McpGatewayConfig['logLevel'],
  };
}
