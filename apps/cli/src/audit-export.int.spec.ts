import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY_STREAM, toJobStreamId } from '@signoff/contracts';
import { createEventStore, deterministicUuid } from '@signoff/event-store';
import { runCli } from './cli.commands';

describe('audit export', () => {
  it('writes every decision as NDJSON CloudEvents in log order, redacted (AUDIT_REDACT_FIELDS and the rule\'s redact), filtered by time', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-'));
    const url = `pglite://${dir}`;
    const store = await createEventStore(url);
    const meta = (at: string) => ({ correlationId: 'c', causationId: 'k', actor: 'agent', at });
    const request = { topic: 'finance.payment.execute', priority: 'high', tenant: 'default', submitted_by: 'agent', labels: { ssn: '078-05-1120' }, payload: { card_number: '4111' } };
    // The policy the job was decided by: its rule `r` redacts labels.ssn.
    const bundle = { version: 'v1', default: 'deny', rules: [{ id: 'r', when: { topic: 'finance.payment.execute' }, decision: 'allow', redact: ['labels.ssn'] }] };
    await store.appendToStream(
      POLICY_STREAM,
      [{ id: deterministicUuid('p/0'), type: 'PolicyActivated', data: { snapshot: 's', version: 'v1', activatedBy: 'test', bundle }, metadata: meta('2025-12-31T00:00:00.000Z') }],
      { expectedRevision: 'no_stream' },
    );
    await store.appendToStream(
      toJobStreamId({ tenant: 'default', jobId: 'j1' }),
      [
        { id: deterministicUuid('a/0'), type: 'JobSubmitted', data: { job_id: 'j1', request, job_hash: 'sha256:x' }, metadata: meta('2026-01-01T00:00:00.000Z') },
        { id: deterministicUuid('a/1'), type: 'PolicyEvaluated', data: { job_id: 'j1', decision: 'allow', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, metadata: meta('2026-01-02T00:00:00.000Z') },
      ],
      { expectedRevision: 'no_stream' },
    );
    await store.close();
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l), env: { AUDIT_REDACT_FIELDS: 'payload.card_number' }, cwd: dir };
    expect(await runCli(['audit', 'export', '--url', url], io)).toBe(0);
    const events = lines.map((l) => JSON.parse(l) as { type: string; subject: string; tenant?: string; data: { request?: { payload: unknown; labels: unknown } } });
    expect(events.map((e) => e.type)).toEqual(['signoff.policy.activated', 'signoff.job.submitted', 'signoff.policy.evaluated']);
    expect(events[1].data.request!.payload).toEqual({ card_number: '[REDACTED]' });
    expect(events[1].data.request!.labels).toEqual({ ssn: '[REDACTED]' });
    expect(events[1].tenant).toBe('default');
    expect(lines.join('\n')).not.toMatch(/4111|078-05-1120/);
    expect(errors.at(-1)).toBe('exported 3 events');
    lines.length = 0;
    expect(await runCli(['audit', 'export', '--url', url, '--since', '2026-01-01T12:00:00Z'], io)).toBe(0);
    expect(lines).toHaveLength(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
