import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafHashOf, toHex, type LogEntry } from './log-entry';
import { MerkleTree } from './merkle-tree';
import { checkTreeHead, publicKeysOf, treeHeadBytes, type SignedTreeHead } from './signed-statement';
import { verifyLog, type LeafRecord } from './verify-log';

const { privateKey } = generateKeyPairSync('ed25519');
const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
const keys = publicKeysOf({ keys: [{ ...jwk, kid: 'k1' }] });

function entry(i: number): LogEntry {
  return {
    event_id: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`,
    stream_id: `job-j${Math.floor(i / 3)}`,
    revision: String(i % 3),
    type: 'ApprovalVoteRecorded',
    data: { job_id: `j${Math.floor(i / 3)}`, reviewer: 'alice', n: i },
    metadata: { actor: 'alice', at: '2026-12-02T00:00:00.000Z' },
    recorded_at: '2026-12-02T00:00:00.000Z',
  };
}

function signedHead(tree: MerkleTree, size: number, timestamp = 1_000 + size): SignedTreeHead {
  const head = { tree_size: size, root_hash: toHex(tree.root(size)), timestamp };
  return { ...head, key_id: 'k1', signature: sign(null, treeHeadBytes(head, 'k1'), privateKey).toString('base64url') };
}

/** A clean log of 20 entries, its leaf records and heads at 5, 12 and 20. */
function fixture() {
  const entries = Array.from({ length: 20 }, (_, i) => entry(i));
  const tree = new MerkleTree();
  for (const e of entries) tree.append(leafHashOf(e));
  const leaves: LeafRecord[] = entries.map((e, i) => ({ leaf_index: i, event_id: e.event_id, stream_id: e.stream_id, leaf_hash: toHex(tree.leaf(i)) }));
  const heads = [5, 12, 20].map((s) => signedHead(tree, s));
  return { entries, tree, leaves, heads };
}

describe('verifyLog', () => {
  it('an untouched log verifies clean: every head, consistency and inclusion', () => {
    const { entries, leaves, heads } = fixture();
    const report = verifyLog({ entries: [...entries, entry(20)], heads, keys, leaves });
    expect(report).toMatchObject({ ok: true, entries: 21, heads: 3, signed_size: 20, unsigned_entries: 1, findings: [] });
  });

  it('names the altered entry', () => {
    const { entries, leaves, heads } = fixture();
    entries[7] = { ...entries[7]!, data: { job_id: 'j2', reviewer: 'mallory', n: 7 } };
    const report = verifyLog({ entries, heads, keys, leaves });
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.kind !== 'head_mismatch')).toEqual([expect.objectContaining({ kind: 'altered', leaf_index: 7, log_index: 7, event_id: entry(7).event_id, stream_id: 'job-j2' })]);
    expect(report.findings.filter((f) => f.kind === 'head_mismatch').map((f) => f.tree_size)).toEqual([12, 20]);
  });

  it('names the removed entry', () => {
    const { entries, leaves, heads } = fixture();
    entries.splice(3, 1);
    const found = verifyLog({ entries, heads, keys, leaves }).findings.filter((f) => f.kind !== 'head_mismatch');
    expect(found).toEqual([expect.objectContaining({ kind: 'removed', leaf_index: 3, event_id: entry(3).event_id })]);
  });

  it('names the inserted entry and where', () => {
    const { entries, leaves, heads } = fixture();
    const forged = { ...entry(99), stream_id: 'job-j1' };
    entries.splice(4, 0, forged);
    const found = verifyLog({ entries, heads, keys, leaves }).findings.filter((f) => f.kind !== 'head_mismatch');
    expect(found).toEqual([expect.objectContaining({ kind: 'inserted', log_index: 4, event_id: forged.event_id })]);
  });

  it('names a moved entry', () => {
    const { entries, leaves, heads } = fixture();
    const [moved] = entries.splice(2, 1);
    entries.splice(9, 0, moved!);
    const found = verifyLog({ entries, heads, keys, leaves }).findings.filter((f) => f.kind !== 'head_mismatch');
    expect(found).toEqual([expect.objectContaining({ kind: 'reordered', leaf_index: 2, log_index: 9 })]);
  });

  it('without trustworthy leaf records, brackets the change between two signed heads', () => {
    const { entries, leaves, heads } = fixture();
    entries[7] = { ...entries[7]!, type: 'ApprovalGranted' };
    const altered = leaves.map((l, i) => (i === 7 ? { ...l, leaf_hash: toHex(leafHashOf(entries[7]!)) } : l));
    for (const records of [undefined, altered]) {
      const report = verifyLog({ entries, heads, keys, ...(records ? { leaves: records } : {}) });
      expect(report.ok).toBe(false);
      expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'head_mismatch', tree_size: 12, detail: expect.stringContaining('entries 5..11') }));
      if (records) expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'tree_record_altered' }));
    }
  });

  it('ignores heads with a bad signature or an unknown key, and reports a fork', () => {
    const { entries, tree, leaves, heads } = fixture();
    const forged = { ...heads[2]!, root_hash: toHex(tree.root(19)) };
    const unknown = { ...heads[1]!, key_id: 'k2' };
    expect(checkTreeHead(forged, keys)).toBe('bad_signature');
    const other = new MerkleTree();
    for (const e of entries.slice(0, 4)) other.append(leafHashOf(e));
    other.append(leafHashOf({ ...entries[4]!, type: 'ApprovalGranted' }));
    const fork = signedHead(other, 5, 9_999);
    const report = verifyLog({ entries, heads: [...heads, forged, unknown, fork], keys, leaves });
    expect(report.findings.map((f) => f.kind)).toEqual(['bad_head', 'bad_head', 'fork']);
  });
});
