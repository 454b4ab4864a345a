/*
 * Audit tree benchmark (issue 14): proof sizes and costs for a log of 1,000,000 events, measured
 * with @signoff/audit-proof itself (no store: the tree is what the approval service keeps in memory).
 *
 *   node -r ./tools/register.cjs test/bench/audit-proof.bench.ts      (AUDIT_BENCH_LEAVES=N to change the size)
 *
 * - leaves: synthetic events shaped like Signoff's (a vote with metadata), canonical JSON + SHA-256;
 * - the tree: MerkleTree.append of every leaf hash; memory as process RSS growth;
 * - inclusion proofs of 1,000 random leaves and consistency proofs from several sizes to n:
 *   hashes per proof (32 bytes each; JSON carries them as 64 hex characters), generation and
 *   verification time per proof;
 * - verifyLog (what `audit verify` runs) over every entry with one signed head, without and with
 *   the inclusion check of every entry.
 */
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { leafHashOf, MerkleTree, publicKeysOf, toHex, treeHeadBytes, verifyConsistency, verifyInclusion, verifyLog, type LogEntry } from '@signoff/audit-proof';

const n = Number(process.env.AUDIT_BENCH_LEAVES ?? 1_000_000);
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function entry(i: number): LogEntry {
  return {
    event_id: `00000000-0000-5000-8000-${i.toString(16).padStart(12, '0')}`,
    stream_id: `job-bench-${Math.floor(i / 5)}`,
    revision: String(i % 5),
    type: 'ApprovalVoteRecorded',
    data: { job_id: `bench-${Math.floor(i / 5)}`, approval_ref: `apr_${i}`, reviewer: 'alice', approved_job_hash: `sha256:${'ab'.repeat(32)}` },
    metadata: { correlationId: `c-${i}`, causationId: `k-${i}`, actor: 'alice', at: '2026-12-02T12:00:00.000Z' },
    recorded_at: '2026-12-02T12:00:00.000Z',
  };
}

function main(): void {
  const rows: string[][] = [];
  const rss0 = process.memoryUsage().rss;
  let t = process.hrtime.bigint();
  const entries = Array.from({ length: n }, (_, i) => entry(i));
  const hashes = entries.map((e) => leafHashOf(e));
  const hashMs = ms(t);
  rows.push([`leaf hashes of ${fmt(n)} events (canonical JSON + SHA-256)`, `${fmt(hashMs)} ms`, `${fmt((n / hashMs) * 1000)} events/s`]);

  t = process.hrtime.bigint();
  const tree = new MerkleTree();
  for (const h of hashes) tree.append(h);
  const buildMs = ms(t);
  rows.push([`tree of ${fmt(n)} leaves (append each)`, `${fmt(buildMs)} ms`, `${fmt((n / buildMs) * 1000)} leaves/s; RSS +${fmt((process.memoryUsage().rss - rss0) / 2 ** 20)} MiB incl. the events`]);

  t = process.hrtime.bigint();
  const root = tree.root();
  rows.push(['root of the whole tree', `${fmt(ms(t), 3)} ms`, toHex(root).slice(0, 16) + '…']);

  const samples = 1000;
  let maxLen = 0;
  let minLen = Infinity;
  let genMs = 0;
  let verMs = 0;
  for (let s = 0; s < samples; s += 1) {
    const index = Math.floor(Math.random() * n);
    t = process.hrtime.bigint();
    const proof = tree.inclusionProof(index, n);
    genMs += ms(t);
    t = process.hrtime.bigint();
    if (!verifyInclusion(index, n, hashes[index]!, proof, root)) throw new Error('inclusion proof failed');
    verMs += ms(t);
    maxLen = Math.max(maxLen, proof.length);
    minLen = Math.min(minLen, proof.length);
  }
  rows.push([
    `inclusion proof, ${samples} random leaves of ${fmt(n)}`,
    `${minLen}–${maxLen} hashes (${minLen * 32}–${maxLen * 32} bytes; ${maxLen * 67 + 2} bytes as a JSON array of hex)`,
    `generate ${fmt((genMs / samples) * 1000, 1)} µs, verify ${fmt((verMs / samples) * 1000, 1)} µs per proof`,
  ]);

  for (const m of [1, 1000, 2 ** 19, Math.floor(n / 2) + 1, n - 1]) {
    if (m >= n) continue;
    t = process.hrtime.bigint();
    const proof = tree.consistencyProof(m, n);
    const g = ms(t);
    t = process.hrtime.bigint();
    if (!verifyConsistency(m, n, tree.root(m), root, proof)) throw new Error('consistency proof failed');
    const v = ms(t);
    rows.push([`consistency proof ${fmt(m)} → ${fmt(n)}`, `${proof.length} hashes (${proof.length * 32} bytes)`, `generate ${fmt(g * 1000, 1)} µs, verify ${fmt(v * 1000, 1)} µs`]);
  }

  const { privateKey } = generateKeyPairSync('ed25519');
  const keys = publicKeysOf({ keys: [{ ...(createPublicKey(privateKey).export({ format: 'jwk' }) as { kty: string; crv: string; x: string }), kid: 'k' }] });
  const head = { tree_size: n, root_hash: toHex(root), timestamp: Date.now() };
  const signed = { ...head, key_id: 'k', signature: sign(null, treeHeadBytes(head, 'k'), privateKey).toString('base64url') };
  t = process.hrtime.bigint();
  const quick = verifyLog({ entries, heads: [signed], keys });
  rows.push([`verifyLog of ${fmt(n)} entries, one signed head (audit verify: root recomputed, 10,000 inclusion proofs)`, `${fmt(ms(t))} ms`, quick.ok ? 'ok' : 'FAILED']);
  t = process.hrtime.bigint();
  const full = verifyLog({ entries, heads: [signed], keys, checkInclusion: 'all' });
  rows.push([`verifyLog of ${fmt(n)} entries with the inclusion proof of every entry (audit verify --all-inclusion)`, `${fmt(ms(t))} ms`, full.ok ? 'ok' : 'FAILED']);

  process.stdout.write(`| measurement | value | notes |\n| --- | --- | --- |\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
}

main();
