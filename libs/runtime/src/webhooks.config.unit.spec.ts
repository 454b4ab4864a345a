import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config';
import { parseWebhookEndpoints } from './webhooks.config';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const base = { EVENT_STORE_URL: 'pglite://memory' };

function file(text: string, ext = 'yaml'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhooks-'));
  const f = path.join(dir, `webhooks.${ext}`);
  fs.writeFileSync(f, text);
  return f;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig({ ...base, ...env });
  } catch (error) {
    return [...(error as ConfigError).problems];
  }
  return [];
}

describe('webhook configuration (SIGNOFF_WEBHOOKS_FILE, WEBHOOK_*)', () => {
  it('is empty with the defaults when the file is unset', () => {
    expect(parseConfig(base).webhooks).toEqual({ endpoints: [], maxAttempts: 8, timeoutMs: 10_000, backoffBaseMs: 1000, backoffMaxMs: 300_000, claimLeaseMs: 30_000 });
  });

  it('reads YAML and JSON files, the tunables, and dedups events', () => {
    const yaml = file(`endpoints:\n  - id: ops-hook\n    url: https://hooks.example.com/signoff\n    secrets: [${SECRET}]\n    events: [approval.requested, approval.granted, approval.granted]\n`);
    const config = parseConfig({ ...base, SIGNOFF_WEBHOOKS_FILE: yaml, WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_TIMEOUT_MS: '500', WEBHOOK_BACKOFF_BASE_MS: '10', WEBHOOK_BACKOFF_MAX_MS: '40', WEBHOOK_CLAIM_LEASE_MS: '2000' });
    expect(config.webhooks).toEqual({
      endpoints: [{ id: 'ops-hook', url: 'https://hooks.example.com/signoff', secrets: [SECRET], events: ['approval.requested', 'approval.granted'] }],
      maxAttempts: 3,
      timeoutMs: 500,
      backoffBaseMs: 10,
      backoffMaxMs: 40,
      claimLeaseMs: 2000,
    });
    const json = file(JSON.stringify([{ id: 'a', url: 'http://127.0.0.1:9/x', secrets: [SECRET, SECRET], events: ['approval.rejected'] }]), 'json');
    expect(parseConfig({ ...base, SIGNOFF_WEBHOOKS_FILE: json }).webhooks.endpoints[0].secrets).toHaveLength(2);
  });

  it('lists every bad field with the rest of the configuration (exit 78 path)', () => {
    const bad = file(
      JSON.stringify({
        endpoints: [
          { id: 'Bad Id', url: 'ftp://x', secrets: [], events: [] },
          { id: 'b', url: 'https://u:p@x.example', secrets: ['sk_live_x'], events: ['job.created'], extra: 1 },
          { id: 'c', url: 'https://c.example', secrets: [SECRET], events: ['approval.expired'] },
          { id: 'c', url: 'https://c.example', secrets: [SECRET], events: ['approval.expired'] },
        ],
      }),
      'json',
    );
    const problems = problemsOf({ SIGNOFF_WEBHOOKS_FILE: bad, WEBHOOK_MAX_ATTEMPTS: '0', PORT: 'x' });
    const text = problems.join('\n');
    expect(text).toContain('endpoint 1: id must match');
    expect(text).toContain('url must be an http(s) URL');
    expect(text).toContain('secrets must list at least one');
    expect(text).toContain('events must list at least one');
    expect(text).toContain('url must not carry credentials');
    expect(text).toContain('secret 1 must be whsec_');
    expect(text).toContain('unknown event job.created');
    expect(text).toContain('unknown field extra');
    expect(text).toContain('id c is used twice');
    expect(text).toContain('WEBHOOK_MAX_ATTEMPTS=0 must be an integer from 1 to 50');
    expect(text).toContain('PORT=x');
  });

  it('reports an unreadable or malformed file', () => {
    expect(problemsOf({ SIGNOFF_WEBHOOKS_FILE: '/nonexistent/webhooks.yaml' }).join()).toContain('cannot be read (ENOENT)');
    expect(parseWebhookEndpoints('{', 'f').problems[0]).toContain('f: not YAML or JSON');
    expect(parseWebhookEndpoints('endpoints: 3', 'f').problems).toEqual(['f: expected a list of endpoints or {endpoints: [...]}']);
  });
});
