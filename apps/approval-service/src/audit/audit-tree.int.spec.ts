import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTreeHead, hashFromHex, leafHashOf, logEntryOf, publicKeysOf, toHex, verifyConsistency, verifyInclusion, type SignedTreeHead } from '@signoff/audit-proof';
import { toJobStreamId } from '@signoff/contracts';
import { deterministicUuid, EventStore } from '@signoff/event-store';
import { SigningKeySet } from '@signoff/keys';
import { SignoffMetrics } from '@signoff/observability';
import { createTestDatabase } from '../../../../test/support/infra';
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
  });
}

describeOn('PostgreSQL', () => createTestDatabase('audit'));
describeOn('PGlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-tree-'));
  return { url: `pglite://${dir}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});
