import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkTreeHead, hashFromHex, leafHashOf, logEntryOf, publicKeysOf, toHex, verifyConsistency, verifyInclusion, type SignedTreeHead } from '@signoff/audit-proof';
import { toJobStreamId } from '@signoff/contracts';
import { deterministicUuid, EventStore } from '@signoff/event-store';
import { SigningKeySet } from '@signoff/keys';
import { SignoffMetrics } from '@signoff/observability';
import { createTestDatabase } from '../../../../test/support/infra';
import { eventually } from '../../../../test/support/wait';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { writePolicyFile } from '../testing/test-policies';
import { AuditTree } from './audit-tree.service';

const keys = SigningKeySet.generate();
const trusted = publicKeysOf(keys.publicJwks() as never);

async function appendJobEvents(svc: ApprovalTestApp, tenant: string, jobId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => deterministicUuid(`${tenant}/${jobId}/${i}`));
  await svc.app.get(EventStore).appendToStream(
    toJobStreamId({ tenant, jobId }),
    ids.map((id, i) => ({ id, type: 'ApprovalReminderSent', data: { job_id: jobId, approval_ref: 'a', step: i, at: '2026-12-02T00:00:00.000Z' }, metadata: { actor: 'signoff', at: '2026-12-02T00:00:00.000Z' } })),
    { expectedRevision: 'any' },
  );
  return ids;
}

function describeOn(name: string, database: () => Promise<{ url: string; drop: () => Promise<void> }>): void {
  describe(`the audit tree on ${name}`, () => {
    let db: { url: string; drop: () => Promise<void> };
    let svc: ApprovalTestApp;
    let policy: string;
    let auditor: string;
    let acmeAuditor: string;
    const start = () => startApprovalApp({ databaseUrl: db.url, policyPath: policy, signingKeys: keys, env: { AUDIT_TREE_POLL_MS: '20', AUDIT_TREE_HEAD_INTERVAL_MS: '3600000' } });

    beforeAll(async () => {
      db = await database();
      policy = writePolicyFile();
      svc = await start();
      auditor = await bearer('ada', ['auditor']);
      acmeAuditor = await bearer('aki', ['auditor'], { tenants: ['acme'] });
    });
    afterAll(async () => {
      await svc?.close();
      await db?.drop();
    });

    it('logs every event of the global log in its order, signs heads, and proves inclusion and consistency', async () => {
      const own = await appendJobEvents(svc, 'default', 'j1', 3);
      const tree = svc.app.get(AuditTree);
      await tree.catchUp();
      const first = await call(svc.url, 'POST', '/audit/tree-head', await bearer('root', ['admin']));
      expect(first.status).toBe(200);
      const head1 = first.body as unknown as SignedTreeHead;
      expect(checkTreeHead(head1, trusted)).toBeNull();
      const log = await svc.app.get(EventStore).readAll();
      expect(head1.tree_size).toBe(log.length);
      expect(tree.merkle.leaf(log.length - 1)).toEqual(leafHashOf(logEntryOf(log.at(-1)!)));

      await appendJobEvents(svc, 'acme', 'j2', 4);
      await tree.catchUp();
      const inclusion = await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${own[1]}`, auditor);
      expect(inclusion.status).toBe(200);
      const proof = inclusion.body as { leaf_index: number; leaf_hash: string; tree_size: number; audit_path: string[]; tree_head: SignedTreeHead };
      // The event is older than the newest head: the proof leads to that head.
      expect(proof.tree_head).toEqual(head1);
      expect(verifyInclusion(proof.leaf_index, proof.tree_size, hashFromHex(proof.leaf_hash)!, proof.audit_path.map((h) => hashFromHex(h)!), hashFromHex(proof.tree_head.root_hash)!)).toBe(true);
      expect(Object.keys(inclusion.body).sort()).toEqual(['audit_path', 'event_id', 'leaf_hash', 'leaf_index', 'tree_head', 'tree_size']);

      const signed = await call(svc.url, 'POST', '/audit/tree-head', await bearer('root', ['admin']));
      const head2 = signed.body as unknown as SignedTreeHead;
      expect(head2.tree_size).toBe(head1.tree_size + 4);
      const latest = await call(svc.url, 'GET', '/audit/tree-head', auditor);
      expect(latest.body).toEqual(head2);
      const consistency = await call(svc.url, 'GET', `/audit/proof/consistency?from=${head1.tree_size}`, auditor);
      expect(consistency.status).toBe(200);
      const c = consistency.body as { from: number; to: number; consistency_path: string[]; from_head: SignedTreeHead; to_head: SignedTreeHead };
      expect(c.from_head).toEqual(head1);
      expect(c.to_head).toEqual(head2);
      expect(verifyConsistency(c.from, c.to, hashFromHex(head1.root_hash)!, hashFromHex(head2.root_hash)!, c.consistency_path.map((h) => hashFromHex(h)!))).toBe(true);
      expect(await svc.app.get(SignoffMetrics).auditTreeLag.get()).toMatchObject({ values: [{ value: 0 }] });
    });

    it("a tenant's auditor gets proofs of its tenant's events only; reviewers none", async () => {
      const [acme] = await appendJobEvents(svc, 'acme', 'j3', 1);
      const [other] = await appendJobEvents(svc, 'globex', 'j4', 1);
      await svc.app.get(AuditTree).catchUp();
      // Newer than every head: a head is signed on demand.
      const mine = await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${acme}`, acmeAuditor);
      expect(mine.status).toBe(200);
      expect((mine.body as { tree_head: SignedTreeHead }).tree_head.tree_size).toBeGreaterThan((mine.body as { leaf_index: number }).leaf_index);
      const theirs = await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${other}`, acmeAuditor);
      expect([theirs.status, theirs.body.code]).toEqual([404, 'not_found']);
      const policy = (await svc.app.get(EventStore).readAll({ filter: { eventTypes: ['PolicyActivated'] } }))[0]!;
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${policy.id}`, acmeAuditor)).status).toBe(404);
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${policy.id}`, auditor)).status).toBe(200);
      expect((await call(svc.url, 'GET', '/audit/tree-head', await bearer('rita', ['reviewer']))).status).toBe(403);
      expect((await call(svc.url, 'POST', '/audit/tree-head', auditor)).status).toBe(403);
    });

    it('refuses hostile query input with 400 and a stable code', async () => {
      const size = svc.app.get(AuditTree).size;
      const cases: Array<[string, string]> = [
        ['/audit/proof/inclusion', 'invalid_event_id'],
        ['/audit/proof/inclusion?event_id=x', 'invalid_event_id'],
        ["/audit/proof/inclusion?event_id=1'%20OR%201=1", 'invalid_event_id'],
        [`/audit/proof/inclusion?event_id=${deterministicUuid('a')}&event_id=${deterministicUuid('b')}`, 'invalid_event_id'],
        [`/audit/proof/inclusion?event_id=${deterministicUuid('a')}&tree_size=-1`, 'invalid_tree_size'],
        ['/audit/proof/consistency', 'invalid_tree_size'],
        ['/audit/proof/consistency?from=abc', 'invalid_tree_size'],
        ['/audit/proof/consistency?from=1e3', 'invalid_tree_size'],
        ['/audit/proof/consistency?from=99999999999999999999', 'invalid_tree_size'],
        [`/audit/proof/consistency?from=3&to=2`, 'invalid_tree_size'],
        [`/audit/proof/consistency?from=1&to=${size + 1}`, 'invalid_tree_size'],
        ['/audit/proof/consistency?from[a]=1', 'invalid_tree_size'],
      ];
      for (const [route, code] of cases) {
        const answer = await call(svc.url, 'GET', route, auditor);
        expect([route, answer.status, answer.body.code]).toEqual([route, 400, code]);
      }
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${deterministicUuid('nothing')}`, auditor)).status).toBe(404);
    });

    it('resumes after a restart from its stored leaves: the same roots, then it extends them', async () => {
      const before = svc.app.get(AuditTree);
      await before.catchUp();
      const size = before.size;
      const root = toHex(before.merkle.root());
      await svc.close();
      svc = await start();
      const after = svc.app.get(AuditTree);
      await after.ready();
      expect([after.size, toHex(after.merkle.root(size))]).toEqual([size, root]);
      await appendJobEvents(svc, 'default', 'j5', 2);
      await after.catchUp();
      expect(after.size).toBe(size + 2);
      expect(toHex(after.merkle.root(size))).toBe(root);
      const log = await svc.app.get(EventStore).readAll();
      expect(after.size).toBe(log.length);
    });

    it('an inclusion proof of an id the tree has not logged: 503 while the tree trails the log by more than a batch, 404 only once it has read everything', async () => {
      // The tree reads the log once at start and then sleeps for a minute: only requests move it.
      await svc.close();
      svc = await startApprovalApp({ databaseUrl: db.url, policyPath: policy, signingKeys: keys, env: { AUDIT_TREE_POLL_MS: '60000', AUDIT_TREE_HEAD_INTERVAL_MS: '3600000' } });
      const tree = svc.app.get(AuditTree);
      await tree.catchUp();
      // Caught up: an unknown id is 404 at once, and a new event is logged by the request itself.
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${deterministicUuid('never')}`, auditor)).status).toBe(404);
      const [fresh] = await appendJobEvents(svc, 'default', 'j6', 1);
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${fresh}`, auditor)).status).toBe(200);

      // Trailing by more than the reads of these three requests (1,000 events each): neither the newest event nor an unknown id
      // is called missing, and the 503 is the same for both (and for another tenant's auditor).
      const many = await appendJobEvents(svc, 'default', 'j7', 5_000);
      const newest = many.at(-1)!;
      for (const [id, who] of [
        [newest, auditor],
        [deterministicUuid('still-never'), auditor],
        [newest, acmeAuditor],
      ] as const) {
        const answer = await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${id}`, who);
        expect([answer.status, answer.body.code, answer.body.reason, answer.headers.get('retry-after')]).toEqual([503, 'audit_unavailable', 'tree_catching_up', '1']);
      }
      await tree.catchUp();
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${newest}`, auditor)).status).toBe(200);
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${newest}`, acmeAuditor)).status).toBe(404);
      expect((await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${deterministicUuid('still-never')}`, auditor)).status).toBe(404);

      // A flood of unknown ids that arrives while a read of the log is running shares the next
      // read: two reads for 40 requests, not 40 (the first read is held until all have asked).
      const store = svc.app.get(EventStore);
      const readAll = store.readAll.bind(store);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const reads = vi.spyOn(store, 'readAll').mockImplementation(async (...args) => {
        await held;
        return readAll(...args);
      });
      const asked = vi.spyOn(tree, 'loggedAllAsOfNow');
      const flood = Promise.all(Array.from({ length: 40 }, (_, i) => call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${deterministicUuid(`flood-${i}`)}`, auditor)));
      await eventually(() => asked.mock.calls.length === 40, 'the 40 requests asking the tree');
      release();
      expect((await flood).map((a) => a.status)).toEqual(Array.from({ length: 40 }, () => 404));
      expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
      reads.mockRestore();
      asked.mockRestore();
    });
  });
}

describeOn('PostgreSQL', () => createTestDatabase('audit'));
describeOn('PGlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tree-'));
  return { url: `pglite://${dir}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
