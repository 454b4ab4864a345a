import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toJobStreamId } from '@signoff/contracts';
import { createEventStore, deterministicUuid } from '@signoff/event-store';
import { runCli } from './cli.commands';

describe('replay --dry-run', () => {
  it('judges stuck jobs with the configured DISPATCH_MAX_ATTEMPTS, as the dispatch service does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-dry-'));
    const url = `pglite://${dir}`;
    const store = await createEventStore(url);
    const meta = { correlationId: 'c', causationId: 'k', actor: 'agent', at: '2026-01-01T00:00:00.000Z' };
    const request = { topic: 'reports.read', priority: 'normal', tenant: 'default', submitted_by: 'agent', labels: {}, payload: {} };
    // An allowed job never published (attempt 1, long past the grace).
    await store.appendToStream(
      toJobStreamId({ tenant: 'default', jobId: 'stuck-1' }),
      [
        { id: deterministicUuid('s/0'), type: 'JobSubmitted', data: { job_id: 'stuck-1', request, job_hash: 'sha256:x' }, metadata: meta },
        { id: deterministicUuid('s/1'), type: 'PolicyEvaluated', data: { job_id: 'stuck-1', decision: 'allow', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, metadata: meta },
      ],
      { expectedRevision: 'no_stream' },
    );
    await store.close();
    const run = async (env: Record<string, string>) => {
      const lines: string[] = [];
      const errors: string[] = [];
      const code = await runCli(['replay', '--dry-run', '--json', '--url', url], { out: (l) => lines.push(l), err: (l) => errors.push(l), env, cwd: dir });
      expect(code, errors.join('\n')).toBe(0);
      return JSON.parse(lines.join('\n')) as { job_id: string; action: string }[];
    };
    // Default 5 attempts: a second attempt is still allowed.
    expect(await run({})).toMatchObject([{ job_id: 'stuck-1', action: 'replay' }]);
    // DISPATCH_MAX_ATTEMPTS=1: the dispatcher would abandon it; the dry run must say so too.
    expect(await run({ DISPATCH_MAX_ATTEMPTS: '1' })).toMatchObject([{ job_id: 'stuck-1', action: 'abandon' }]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
