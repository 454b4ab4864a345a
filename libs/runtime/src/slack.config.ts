import fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { Principal, Role, ROLES } from './auth/principal';
import { WEBHOOK_EVENT_TYPES, WebhookEventType } from './webhooks.config';

/** The Slack integration (SIGNOFF_SLACK_FILE): one signing secret, one incoming webhook, a user map. */
export interface SlackConfig {
  /** Slack's app signing secret: verifies `X-Slack-Signature` on interactions. */
  readonly signingSecret: string;
  /** Outbound messages are POSTed here (an incoming webhook). */
  readonly incomingWebhookUrl: string;
  /** Which approval changes post a message. */
  readonly events: readonly WebhookEventType[];
  /** `<team_id>/<user_id>` -> the reviewer identity a vote is cast as; unmapped users cannot decide. */
  readonly users: ReadonlyMap<string, Principal>;
  /**
   * `bot_token` (`xoxb-...`): lets the Reject button open a modal asking for the reason (Slack Web
   * API `views.open`). Null: Reject answers that a reason is needed in the console or the CLI.
   */
  readonly botToken: string | null;
  /** `api_url`: Slack's Web API base (default https://slack.com/api; a test points it at a fake). */
  readonly apiUrl: string;
}

/** Slack's Web API unless `api_url` says otherwise. */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';
const BOT_TOKEN = /^xoxb-[A-Za-z0-9-]{10,250}$/;

const SLACK_ID = /^[A-Z0-9]{2,32}$/;

/** The user-map key of a Slack user. */
export function slackUserKey(teamId: string, userId: string): string {
  return `${teamId}/${userId}`;
}

function stringList(value: unknown): string[] | null {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0) ? (value as string[]) : null;
}

/**
 * A Slack file (YAML or JSON), with every problem found; `source` names the file in the messages.
 * `users` maps `<team_id>/<user_id>` to `{sub, roles, tenants?, topics?}` (a JWT principal's shape).
 */
export function parseSlackFile(text: string, source: string): { config: SlackConfig | null; problems: string[] } {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    return { config: null, problems: [`${source}: not YAML or JSON (${(error as Error).message.split('\n')[0]})`] };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { config: null, problems: [`${source}: expected an object {signing_secret, incoming_webhook_url, events, users}`] };
  const d = doc as Record<string, unknown>;
  for (const key of Object.keys(d)) if (!['signing_secret', 'incoming_webhook_url', 'events', 'users', 'bot_token', 'api_url'].includes(key)) problems.push(`${source}: unknown field ${key}`);
  const signingSecret = typeof d.signing_secret === 'string' ? d.signing_secret : '';
  if (signingSecret.length < 16) problems.push(`${source}: signing_secret must be a string of at least 16 characters`);
  const url = typeof d.incoming_webhook_url === 'string' ? d.incoming_webhook_url : '';
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) problems.push(`${source}: incoming_webhook_url must be an http(s) URL`);
  const events = stringList(d.events) ?? [];
  if (events.length === 0) problems.push(`${source}: events must list at least one of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  for (const ev of events) if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(ev)) problems.push(`${source}: unknown event ${ev} (one of ${WEBHOOK_EVENT_TYPES.join(', ')})`);
  const botToken = d.bot_token === undefined ? null : typeof d.bot_token === 'string' && BOT_TOKEN.test(d.bot_token) ? d.bot_token : undefined;
  if (botToken === undefined) problems.push(`${source}: bot_token must be a Slack bot token (xoxb-...)`);
  const apiUrl = d.api_url === undefined ? DEFAULT_SLACK_API_URL : typeof d.api_url === 'string' ? d.api_url.replace(/\/+$/, '') : '';
  let api: URL | null = null;
  try {
    api = new URL(apiUrl);
  } catch {
    api = null;
  }
  if (!api || (api.protocol !== 'https:' && api.protocol !== 'http:') || api.username || api.password) problems.push(`${source}: api_url must be an http(s) URL without credentials`);
  const users = new Map<string, Principal>();
  const rawUsers = d.users;
  if (typeof rawUsers !== 'object' || rawUsers === null || Array.isArray(rawUsers)) problems.push(`${source}: users must map <team_id>/<user_id> to {sub, roles, tenants?, topics?}`);
  else {
    for (const [key, raw] of Object.entries(rawUsers as Record<string, unknown>)) {
      const at = `${source} users.${key}`;
      const [team, user, extra] = key.split('/');
      if (extra !== undefined || !SLACK_ID.test(team ?? '') || !SLACK_ID.test(user ?? '')) {
        problems.push(`${at}: key must be <team_id>/<user_id> (e.g. T0123ABC/U0456DEF)`);
        continue;
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        problems.push(`${at}: must be an object {sub, roles, tenants?, topics?}`);
        continue;
      }
      const u = raw as Record<string, unknown>;
      const before = problems.length;
      for (const field of Object.keys(u)) if (!['sub', 'roles', 'tenants', 'topics'].includes(field)) problems.push(`${at}: unknown field ${field}`);
      if (typeof u.sub !== 'string' || u.sub.length === 0) problems.push(`${at}: sub must be a non-empty string`);
      const roles = stringList(u.roles);
      if (!roles || roles.length === 0) problems.push(`${at}: roles must list at least one role`);
      const tenants = u.tenants === undefined ? null : stringList(u.tenants);
      if (u.tenants !== undefined && !tenants) problems.push(`${at}: tenants must be a list of tenant names`);
      const topics = u.topics === undefined ? null : stringList(u.topics);
      if (u.topics !== undefined && !topics) problems.push(`${at}: topics must be a list of topic globs`);
      if (problems.length === before && roles) {
        users.set(key, {
          sub: u.sub as string,
          roles: new Set(roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r))),
          claimedRoles: roles,
          tenants,
          topics,
        });
      }
    }
  }
  if (problems.length > 0) return { config: null, problems };
  return { config: { signingSecret, incomingWebhookUrl: url, events: [...new Set(events as WebhookEventType[])], users, botToken: botToken ?? null, apiUrl }, problems };
}

/** SIGNOFF_SLACK_FILE: null when unset; every problem of the file is added to `problems`. */
export function readSlackConfig(file: string | undefined, problems: string[]): SlackConfig | null {
  if (file === undefined) return null;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`SIGNOFF_SLACK_FILE=${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return null;
  }
  const parsed = parseSlackFile(text, `SIGNOFF_SLACK_FILE=${file}`);
  problems.push(...parsed.problems);
  return parsed.config;
}
