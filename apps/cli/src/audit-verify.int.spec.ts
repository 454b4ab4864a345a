import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { AuditTree } from '@signoff/approval-service';
import type { VerifyReport } from '@signoff/audit-proof';
import { toJobStreamId } from '@signoff/contracts';
import { FixedClock } from '@signoff/core/testing';
import { createEventStore, deterministicUuid } from '@signoff/event-store';
import { SigningKeySet } from '@signoff/keys';
import { SignoffMetrics } from '@signoff/observability';
import { createTestDatabase } from '../../../test/support/infra';
import { runCli } from './cli.commands';

const keys = SigningKeySet.generate();
const FORGED_ID = '11111111-2222-5333-8444-555555555555';

/** Runs SQL on the store's database as an attacker with database access would. */
type Sql = (text: string, params?: unknown[]) => Promise<void>;
interface Backend {
  readonly name: string;
  create(): Promise<{ url: string; sql: (work: (sql: Sql) => Promise<void>) => Promise<void>; drop: () => Promise<void> }>;
}

const postgres: Backend = {
  name: 'PostgreSQL',
  async create() {
    const db = await createTestDatabase('verify');
    return {
      url: db.url,
      drop: db.drop,
      sql: async (work) => {
        const client = new Client({ connectionString: db.url });
        await client.connect();
        try {
          await work(async (text, params) => void (await client.query(text, params)));
        } finally {
          await client.end();
        }
      },
    };
  },
};

const pglite: Backend = {
  name: 'PGlite',
  async create() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-'));
    return {
      url: `pglite://${dir}`,
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
      // PGlite has one owner at a time: the attacker opens the data directory while Signoff is stopped.
      sql: async (work) => {
        const { PGlite } = await import('@electric-sql/pglite');
        const db = await PGlite.create(dir);
        try {
          await work(async (text, params) => void (await db.query(text, params)));
        } finally {
          await db.close();
        }
      },
    };
  },
};

/** A log of 4 jobs (3 events each) plus the policy, logged by the audit tree with two signed heads and an unsigned tail. */
async function signedLog(url: string): Promise<{ ids: string[] }> {
  const store = await createEventStore(url);
  const tree = new AuditTree(store, new SignoffMetrics(), new FixedClock(new Date('2026-12-02T12:00:00Z')), { keys, headIntervalMs: 3_600_000, pollIntervalMs: 50 });
  const ids: string[] = [];
  const append = async (job: number) => {
    const events = [0, 1, 2].map((i) => ({
      id: deterministicUuid(`verify/${job}/${i}`),
      type: i === 2 ? 'ApprovalGranted' : 'ApprovalVoteRecorded',
      data: { job_id: `j${job}`, reviewer: 'alice', step: i },
      metadata: { actor: 'alice', at: '2026-12-02T12:00:00.000Z' },
    }));
    ids.push(...events.map((e) => e.id));
    await store.appendToStream(toJobStreamId({ tenant: 'default', jobId: `j${job}` }), events, { expectedRevision: 'no_stream' });
  };
  try {
    await append(0);
    await append(1);
    await tree.catchUp();
    await tree.signNow();
    await append(2);
    await append(3);
    await tree.catchUp();
    await tree.signNow();
    await append(4);
    await tree.catchUp();
  } finally {
    await tree.onModuleDestroy();
    await store.close();
  }
  return { ids };
}

async function verify(args: string[], cwd: string): Promise<{ code: number; out: string[]; report: VerifyReport }> {
  const jwks = path.join(cwd, 'jwks.json');
  fs.writeFileSync(jwks, JSON.stringify(keys.publicJwks()));
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: {}, cwd };
  const code = await runCli(['audit', 'verify', '--jwks', jwks, ...args], io);
  const json: string[] = [];
  await runCli(['audit', 'verify', '--jwks', jwks, '--json', ...args], { ...io, out: (l: string) => json.push(l) });
  return { code, out, report: JSON.parse(json.join('\n')) as VerifyReport };
}

const kinds = (report: VerifyReport) => report.findings.filter((f) => f.kind !== 'head_mismatch').map((f) => ({ kind: f.kind, event_id: f.event_id }));

for (const backend of [postgres, pglite]) {
  describe(`audit verify catches an attacker with database access (${backend.name})`, () => {
    const scenario = async (attack: (sql: Sql, ids: string[]) => Promise<void>) => {
      const db = await backend.create();
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-cwd-'));
      const { ids } = await signedLog(db.url);
      await db.sql((sql) => attack(sql, ids));
      const result = await verify(['--url', db.url], cwd);
      await db.drop();
      return { ...result, ids, cwd };
    };

    it('an untouched log verifies clean (exit 0), also from a verifiable export; an edited export does not', async () => {
      const db = await backend.create();
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-cwd-'));
      await signedLog(db.url);
      const clean = await verify(['--url', db.url], cwd);
      expect(clean.code).toBe(0);
      expect(clean.report).toMatchObject({ ok: true, entries: 15, heads: 2, unsigned_entries: 3, findings: [] });
      expect(clean.out.join('\n')).toContain('OK: the log reproduces every signed tree head');
      const io = { out: () => undefined, err: () => undefined, env: {}, cwd };
      expect(await runCli(['audit', 'export', '--verifiable', '--url', db.url, '--out', 'log.ndjson'], io)).toBe(0);
      await db.drop();
      expect((await verify(['--file', 'log.ndjson'], cwd)).code).toBe(0);
      const file = path.join(cwd, 'log.ndjson');
      const target = deterministicUuid('verify/0/1');
      const lines = fs.readFileSync(file, 'utf8').split('\n').map((line) => {
        if (!line.includes(`"event_id":"${target}"`) || !line.includes('"kind":"entry"')) return line;
        const record = JSON.parse(line) as { entry: { data: Record<string, unknown> } };
        record.entry.data.reviewer = 'bob';
        return JSON.stringify(record);
      });
      fs.writeFileSync(file, lines.join('\n'));
      const edited = await verify(['--file', 'log.ndjson'], cwd);
      expect(edited.code).toBe(1);
      expect(kinds(edited.report)).toEqual([{ kind: 'altered', event_id: deterministicUuid('verify/0/1') }]);
    });

    it('audit export takes the auditor filters and ends with the signed tree head it was taken at', async () => {
      const db = await backend.create();
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-cwd-'));
      await signedLog(db.url);
      const lines: string[] = [];
      const errors: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => errors.push(l), env: {}, cwd };
      expect(await runCli(['audit', 'export', '--url', db.url, '--decision', 'granted', '--actor', 'alice'], io)).toBe(0);
      const events = lines.map((l) => JSON.parse(l) as { type: string; subject: string; data: { tree_size?: number; signature?: string } });
      expect(events.slice(0, -1).map((e) => [e.type, e.subject])).toEqual([0, 1, 2, 3, 4].map((j) => ['signoff.approval.granted', `j${j}`]));
      expect(events.at(-1)).toMatchObject({ type: 'signoff.audit.tree_head', data: { tree_size: 12, signature: expect.any(String) } });
      expect(errors.at(-1)).toBe('exported 5 events and the tree head of size 12');
      expect(await runCli(['audit', 'export', '--url', db.url, '--decision', 'maybe'], io)).toBe(2);
      await db.drop();
    });

    it('an edited event (UPDATE) is reported as altered, by id and leaf index', async () => {
      const { code, report, out, ids } = await scenario((sql, ids) => sql(`UPDATE event_store.events SET data = jsonb_set(data, '{reviewer}', '"mallory"') WHERE event_id = $1`, [ids[4]]));
      expect(code).toBe(1);
      expect(kinds(report)).toEqual([{ kind: 'altered', event_id: ids[4] }]);
      expect(report.findings.find((f) => f.kind === 'altered')).toMatchObject({ leaf_index: 4, log_index: 4 });
      expect(out.join('\n')).toMatch(/TAMPERED[\s\S]*altered/);
    });

    it('a deleted event (DELETE) is reported as removed', async () => {
      const { code, report, ids } = await scenario((sql, ids) => sql(`DELETE FROM event_store.events WHERE event_id = $1`, [ids[7]]));
      expect(code).toBe(1);
      expect(kinds(report)).toEqual([{ kind: 'removed', event_id: ids[7] }]);
    });

    it('a reordered event (its transaction id moved) is reported as reordered', async () => {
      const { code, report, ids } = await scenario((sql, ids) =>
        sql(`UPDATE event_store.events SET tx_id = (SELECT tx_id FROM event_store.events WHERE event_id = $2) WHERE event_id = $1`, [ids[1], ids[8]]),
      );
      expect(code).toBe(1);
      expect(kinds(report)).toEqual([{ kind: 'reordered', event_id: ids[1] }]);
    });

    it('an inserted event inside the signed range is reported as inserted, with its place', async () => {
      const { code, report } = await scenario((sql, ids) =>
        sql(
          `INSERT INTO event_store.events (tx_id, stream_id, revision, event_id, type, data, metadata)
           SELECT tx_id, 'job-forged', 0, $2::uuid, 'ApprovalGranted', '{"job_id":"forged"}', '{}' FROM event_store.events WHERE event_id = $1`,
          [ids[0], FORGED_ID],
        ),
      );
      expect(code).toBe(1);
      expect(kinds(report)).toEqual([{ kind: 'inserted', event_id: FORGED_ID }]);
      expect(report.findings.find((f) => f.kind === 'inserted')).toMatchObject({ stream_id: "job-forged", log_index: 3 });
    });

    it("deleting the tree's leaves and heads too does not help: no head, or the auditor's kept heads, expose it", async () => {
      const db = await backend.create();
      const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-cwd-'));
      const { ids } = await signedLog(db.url);
      const kept = await verify(['--url', db.url], cwd);
      expect(kept.code).toBe(0);
      // The auditor kept the heads it saw earlier (GET /audit/tree-head).
      const material = await import('./audit-verify').then(async (m) => {
        const store = await createEventStore(db.url);
        try {
          return await m.readLogMaterial(store);
        } finally {
          await store.close();
        }
      });
      fs.writeFileSync(path.join(cwd, 'heads.json'), JSON.stringify(material.heads));
      await db.sql(async (sql) => {
        await sql(`UPDATE event_store.events SET data = jsonb_set(data, '{reviewer}', '"mallory"') WHERE event_id = $1`, [ids[2]]);
        await sql(`DELETE FROM audit_log.tree_heads`);
        await sql(`DELETE FROM audit_log.leaves`);
      });
      const alone = await verify(['--url', db.url], cwd);
      expect(alone.code).toBe(1);
      expect(alone.report.findings.map((f) => f.kind)).toEqual(['no_signed_head']);
      const withKept = await verify(['--url', db.url, '--heads', 'heads.json'], cwd);
      expect(withKept.code).toBe(1);
      expect(withKept.report.findings[0]).toMatchObject({ kind: 'head_mismatch' });
      expect(withKept.report.findings.find((f) => f.detail.includes('entries 0..'))).toBeDefined();
      await db.drop();
    });
  });
}
