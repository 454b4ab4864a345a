import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReceipt, publicKeysOf, type DecisionReceipt } from '@signoff/audit-proof';
import { runCli } from '@signoff/cli';
import { SigningKeySet } from '@signoff/keys';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, bearer, call, startApprovalApp } from '../testing/approval-test.app';
import { paymentJob, submitJob } from '../testing/job.fixture';
import { writePolicyFile } from '../testing/test-policies';
import { AuditTree } from './audit-tree.service';

const keys = SigningKeySet.generate();
const trusted = publicKeysOf(keys.publicJwks() as never);

describe('signed decision receipts (GET /jobs/:id/receipt) on PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;

  beforeAll(async () => {
    db = await createTestDatabase('receipt');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), signingKeys: keys, env: { AUDIT_TREE_POLL_MS: '20' } });
  });
  afterAll(async () => {
    await svc?.close();
    await db?.drop();
  });

  it('a grant yields a receipt verifiable offline with the public key (and the CLI); any edit fails', async () => {
    const job = await submitJob(svc.app, paymentJob());
    const submitter = await bearer('agent-7', ['submitter']);
    const waiting = await call(svc.url, 'GET', `/jobs/${job.job_id}/receipt`, submitter);
    expect([waiting.status, waiting.body.code]).toEqual([409, 'no_decision']);
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/approve`, await bearer('rita', ['reviewer']), { reason: 'ok' })).status).toBe(200);
    await svc.app.get(AuditTree).catchUp();
    const answer = await call(svc.url, 'GET', `/jobs/${job.job_id}/receipt`, submitter);
    expect(answer.status).toBe(200);
    const receipt = answer.body as unknown as DecisionReceipt;
    expect(receipt.receipt).toMatchObject({ statement: 'signoff.receipt.v1', job_id: job.job_id, tenant: 'default', job_hash: job.job_hash, policy_snapshot: job.policy_snapshot, decision: 'granted', approvers: ['rita'] });
    expect(checkReceipt(receipt, trusted)).toEqual([]);
    // Joinable to the audit API: the same leaf and head as GET /audit/proof/inclusion.
    const inclusion = await call(svc.url, 'GET', `/audit/proof/inclusion?event_id=${receipt.receipt.event_id}&tree_size=${receipt.inclusion.tree_size}`, await bearer('ada', ['auditor']));
    expect(inclusion.body).toMatchObject({ leaf_index: receipt.receipt.log_index, leaf_hash: receipt.receipt.leaf_hash, audit_path: receipt.inclusion.audit_path });

    expect(checkReceipt({ ...receipt, receipt: { ...receipt.receipt, approvers: ['mallory'] } }, trusted)).toEqual(['receipt signature: bad_signature']);
    expect(checkReceipt({ ...receipt, receipt: { ...receipt.receipt, log_index: receipt.receipt.log_index + 1 } }, trusted)).toContain('receipt signature: bad_signature');
    expect(checkReceipt(receipt, publicKeysOf(SigningKeySet.generate().publicJwks() as never))).toContain('receipt signature: unknown_key');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'receipt-'));
    fs.writeFileSync(path.join(dir, 'receipt.json'), JSON.stringify(receipt));
    fs.writeFileSync(path.join(dir, 'forged.json'), JSON.stringify({ ...receipt, receipt: { ...receipt.receipt, decision: 'rejected' } }));
    fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(keys.publicJwks()));
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), env: {}, cwd: dir };
    expect(await runCli(['receipt', 'verify', 'receipt.json', '--jwks', 'jwks.json'], io)).toBe(0);
    expect(out.at(-1)).toMatch(/^OK: granted default\//);
    expect(await runCli(['receipt', 'verify', 'forged.json', '--jwks', 'jwks.json'], io)).toBe(1);
    expect(out.at(-1)).toMatch(/^INVALID: receipt signature: bad_signature/);
  });

  it('rejections name the reviewer; jobs of other tenants are 404', async () => {
    const job = await submitJob(svc.app, paymentJob());
    expect((await call(svc.url, 'POST', `/approvals/${job.job_id}/reject`, await bearer('rita', ['reviewer']), { reason: 'no invoice' })).status).toBe(200);
    await svc.app.get(AuditTree).catchUp();
    const answer = await call(svc.url, 'GET', `/jobs/${job.job_id}/receipt`, await bearer('ada', ['auditor']));
    expect((answer.body as unknown as DecisionReceipt).receipt).toMatchObject({ decision: 'rejected', approvers: ['rita'] });
    expect(checkReceipt(answer.body as unknown as DecisionReceipt, trusted)).toEqual([]);
    const other = await call(svc.url, 'GET', `/jobs/${job.job_id}/receipt`, await bearer('aki', ['auditor'], { tenants: ['acme'] }));
    expect([other.status, other.body.code]).toEqual([404, 'not_found']);
  });
});
