import type { ServiceEnvName } from './config-env';
import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { WEBHOOK_SECRET_PATTERN } from '@signoff/contracts';

/** The webhook event types an endpoint may subscribe to (`events`), one per approval event. */
export const WEBHOOK_EVENT_TYPES = [
  'approval.requested',
  'approval.vote_recorded',
  'approval.granted',
  'approval.rejected',
  'approval.expired',
  'approval.invalidated',
  /** An escalation step reminded (ApprovalReminderSent); issue 12 section 4. */
  'approval.reminder',
  /** An escalation step added reviewer roles (ApprovalEscalated). */
  'approval.escalated',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One endpoint of SIGNOFF_WEBHOOKS_FILE. */
export interface WebhookEndpointConfig {
  /** `[a-z0-9][a-z0-9-]{0,62}`: names its checkpoint and its dead-letter stream. */
  readonly id: string;
  readonly url: string;
  /** `whsec_<base64>`; the first signs, every one adds a signature (rotation). */
  readonly secrets: readonly string[];
  readonly events: readonly WebhookEventType[];
}

/** Outbound webhooks (SIGNOFF_WEBHOOKS_FILE and the WEBHOOK_* tunables). */
export interface WebhooksConfig {
  readonly endpoints: readonly WebhookEndpointConfig[];
  /** WEBHOOK_MAX_ATTEMPTS (1..50, default 8): attempts before a delivery is dead-lettered. */
  readonly maxAttempts: number;
  /** WEBHOOK_TIMEOUT_MS (100..120000, default 10000): per request. */
  readonly timeoutMs: number;
  /** WEBHOOK_BACKOFF_BASE_MS (1..600000, default 1000): the wait after the first failure; doubles. */
  readonly backoffBaseMs: number;
  /** WEBHOOK_BACKOFF_MAX_MS (1..3600000, default 300000): the longest wait between attempts. */
  readonly backoffMaxMs: number;
  /**
   * WEBHOOK_CLAIM_LEASE_MS (1000..600000, default 30000): how long an instance's claim on a message
   * holds without renewal (renewed every third of it while the instance works on the message),
   * so how soon another instance takes over the messages of one that died.
   */
  readonly claimLeaseMs: number;
}

const ENDPOINT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The endpoints of a webhooks file (YAML or JSON: `{endpoints: [...]}` or a list), with every
 * problem found; `source` names the file in the messages.
 */
export function parseWebhookEndpoints(text: string, source: string): { endpoints: WebhookEndpointConfig[]; problems: string[] } {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return { endpoints: [], problems: [`${source}: not YAML or JSON (${(error as Error).message.split('\n')[0]})`] };
  }
  const list = Array.isArray(doc) ? doc : (doc as { endpoints?: unknown } | null)?.endpoints;
  if (!Array.isArray(list)) return { endpoints: [], problems: [`${source}: expected a list of endpoints or {endpoints: [...]}`] };
  const endpoints: WebhookEndpointConfig[] = [];
  const seen = new Set<string>();
  list.forEach((raw: unknown, index) => {
    const at = `${source} endpoint ${index + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${at}: must be an object {id, url, secrets, events}`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(e)) if (!['id', 'url', 'secrets', 'events'].includes(key)) problems.push(`${at}: unknown field ${key}`);
    const id = typeof e.id === 'string' ? e.id : '';
    if (!ENDPOINT_ID.test(id)) problems.push(`${at}: id must match ${ENDPOINT_ID.source}`);
    else if (seen.has(id)) problems.push(`${at}: id ${id} is used twice`);
    seen.add(id);
    const url = typeof e.url === 'string' ? e.url : '';
    let parsed: URL | null = null;
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) problems.push(`${at} (${id}): url must be an http(s) URL`);
    else if (parsed.username || parsed.password) problems.push(`${at} (${id}): url must not carry credentials`);
    const secrets = Array.isArray(e.secrets) ? e.secrets : [];
    if (secrets.length === 0) problems.push(`${at} (${id}): secrets must list at least one whsec_<base64> secret`);
    secrets.forEach((s: unknown, i) => {
      if (typeof s !== 'string' || !WEBHOOK_SECRET_PATTERN.test(s)) problems.push(`${at} (${id}): secret ${i + 1} must be whsec_ followed by base64 of at least 16 bytes`);
    });
    const events = Array.isArray(e.events) ? e.events : [];
    if (events.length === 0) problems.push(`${at} (${id}): events must list at least one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    for (const ev of events) {
      if (!(WEBHOOK_EVENT_TYPES as readonly unknown[]).includes(ev)) problems.push(`${at} (${id}): unknown event ${String(ev)} (one of ${WEBHOOK_EVENT_TYPES.join(', ')})`);
    }
    if (problems.length === before) {
      endpoints.push({ id, url, secrets: secrets as string[], events: [...new Set(events as WebhookEventType[])] });
    }
  });
  return { endpoints, problems };
}

/** SIGNOFF_WEBHOOKS_FILE and the WEBHOOK_* tunables; `int` is parseConfig's checked integer reader. */
export function readWebhooksConfig(
  file: string | undefined,
  int: (name: ServiceEnvName, fallback: number, min: number, max: number) => number,
  problems: string[],
): WebhooksConfig {
  let endpoints: WebhookEndpointConfig[] = [];
  if (file !== undefined) {
    let text: string | null = null;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (error) {
      problems.push(`SIGNOFF_WEBHOOKS_FILE=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (text !== null) {
      const parsed = parseWebhookEndpoints(text, `SIGNOFF_WEBHOOKS_FILE=${file}`);
      problems.push(...parsed.problems);
      endpoints = parsed.endpoints;
    }
  }
  return {
    endpoints,
    maxAttempts: int('WEBHOOK_MAX_ATTEMPTS', 8, 1, 50),
    timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    backoffBaseMs: int('WEBHOOK_BACKOFF_BASE_MS', 1000, 1, 600_000),
    backoffMaxMs: int('WEBHOOK_BACKOFF_MAX_MS', 300_000, 1, 3_600_000),
    claimLeaseMs: int('WEBHOOK_CLAIM_LEASE_MS', 30_000, 1_000, 600_000),
  };
}
