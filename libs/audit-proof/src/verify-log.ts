/**
 * The auditor's check of a whole log: recompute the tree from the events, check every signed tree
 * head against it (signature, root, consistency between heads, inclusion of every entry), and when
 * something does not match, say which entry was altered, removed, inserted or moved, and where.
 *
 * Trust: only the public keys. The events, the tree's stored leaf records and the heads may all
 * come from a database an attacker could write; a head counts only if its signature verifies, and
 * the stored leaf records are used to pinpoint a change only when they match the signed heads.
 */
import type { KeyObject } from 'node:crypto';
import { leafHashOf, hashFromHex, toHex, type LogEntry } from './log-entry';
import { MerkleTree } from './merkle-tree';
import { equalHashes, verifyConsistency, verifyInclusion } from './rfc9162';
import { checkTreeHead, type SignedTreeHead } from './signed-statement';

/** The tree's record of one leaf (as the control plane stored it when it logged the event). */
export interface LeafRecord {
  readonly leaf_index: number;
  readonly event_id: string;
  readonly stream_id: string;
  /** Hex. */
  readonly leaf_hash: string;
}

export type FindingKind =
  | 'altered' // the entry signed at leaf_index now has other content
  | 'removed' // the entry signed at leaf_index is no longer in the log
  | 'inserted' // an entry that was never signed sits inside the signed range
  | 'reordered' // the entry signed at leaf_index is at another place of the log order
  | 'head_mismatch' // the log does not reproduce a signed head
  | 'bad_head' // a tree head whose signature does not verify (ignored otherwise)
  | 'fork' // two validly signed heads of one size with different roots
  | 'inconsistent_heads' // a later signed head does not extend an earlier one
  | 'tree_record_altered' // the stored leaf records do not match the signed heads
  | 'no_signed_head'; // the log has entries but no validly signed head: nothing is proven

export interface Finding {
  readonly kind: FindingKind;
  /** Where the signed tree has the entry (0-based). */
  readonly leaf_index?: number;
  /** Where the log, as read now, has it (0-based, in log order). */
  readonly log_index?: number;
  readonly event_id?: string;
  readonly stream_id?: string;
  readonly tree_size?: number;
  readonly detail: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Entries read from the log. */
  readonly entries: number;
  /** Validly signed heads checked. */
  readonly heads: number;
  /** The largest validly signed tree size: entries up to here are proven. */
  readonly signed_size: number;
  /** Root of the tree recomputed over every entry read (hex). */
  readonly computed_root: string;
  /** Entries after the last signed head (not yet covered by a signature). */
  readonly unsigned_entries: number;
  readonly findings: readonly Finding[];
}

export interface VerifyLogInput {
  /** Every event of the log, in log order. */
  readonly entries: readonly LogEntry[];
  /** Signed tree heads from anywhere (the store, an export, an auditor's own copies). */
  readonly heads: readonly SignedTreeHead[];
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** The tree's stored leaf records, when available: they pinpoint what changed. */
  readonly leaves?: readonly LeafRecord[];
  /**
   * Inclusion proofs to verify against the largest head: `'all'` (every signed entry, O(n log n)
   * hashes), or at most this many entries spread evenly over the signed range (default 10,000).
   * Recomputing the root from every entry already proves each one included; the proofs check the
   * path an auditor's own inclusion checks take.
   */
  readonly checkInclusion?: 'all' | number;
}

const keyOf = (streamId: string, eventId: string): string => `${streamId}\n${eventId}`;

/** Verifies a log against its signed heads; see the module comment. */
export function verifyLog(input: VerifyLogInput): VerifyReport {
  const findings: Finding[] = [];
  // 1. Heads count only if their signature verifies.
  const heads: SignedTreeHead[] = [];
  for (const head of input.heads) {
    const problem = checkTreeHead(head, input.keys);
    if (problem) findings.push({ kind: 'bad_head', tree_size: head.tree_size, detail: `tree head of size ${head.tree_size}: ${problem}` });
    else heads.push(head);
  }
  heads.sort((a, b) => a.tree_size - b.tree_size || a.timestamp - b.timestamp);
  const distinct = dedupeHeads(heads, findings);

  // 2. The tree recomputed from the entries as they are now.
  const computed = new MerkleTree();
  const hashes = input.entries.map((entry) => leafHashOf(entry));
  for (const hash of hashes) computed.append(hash);

  // 3. Every signed head must be reproduced by the log.
  const failing: SignedTreeHead[] = [];
  for (const head of distinct) {
    const root = hashFromHex(head.root_hash)!;
    if (head.tree_size > computed.size) {
      failing.push(head);
      findings.push({ kind: 'head_mismatch', tree_size: head.tree_size, detail: `signed head of size ${head.tree_size}, but the log holds ${computed.size} entries` });
    } else if (!equalHashes(computed.root(head.tree_size), root)) {
      failing.push(head);
      findings.push({ kind: 'head_mismatch', tree_size: head.tree_size, detail: `the first ${head.tree_size} entries of the log do not hash to the signed root` });
    }
  }
  const signedSize = distinct.at(-1)?.tree_size ?? 0;
  if (distinct.length === 0 && computed.size > 0) {
    findings.push({ kind: 'no_signed_head', detail: `${computed.size} entries and no validly signed tree head: nothing proves them (were the heads deleted? pass the ones you kept with --heads)` });
  }

  if (failing.length === 0) {
    // 4. Consistency of consecutive heads, and inclusion of every signed entry, on the computed tree.
    for (let i = 1; i < distinct.length; i += 1) {
      const [a, b] = [distinct[i - 1]!, distinct[i]!];
      if (!verifyConsistency(a.tree_size, b.tree_size, hashFromHex(a.root_hash)!, hashFromHex(b.root_hash)!, computed.consistencyProof(a.tree_size, b.tree_size))) {
        findings.push({ kind: 'inconsistent_heads', tree_size: b.tree_size, detail: `head ${b.tree_size} does not extend head ${a.tree_size}` });
      }
    }
    const wanted = input.checkInclusion === 'all' ? signedSize : Math.min(signedSize, input.checkInclusion ?? 10_000);
    if (wanted > 0) {
      const root = computed.root(signedSize);
      const step = signedSize / wanted;
      for (let k = 0; k < wanted; k += 1) {
        const i = Math.floor(k * step);
        if (!verifyInclusion(i, signedSize, hashes[i]!, computed.inclusionProof(i, signedSize), root)) {
          findings.push({ kind: 'altered', leaf_index: i, detail: `inclusion proof of entry ${i} fails` });
        }
      }
    }
  } else {
    findings.push(...pinpoint(input, hashes, distinct, failing));
  }
  return {
    ok: findings.length === 0,
    entries: input.entries.length,
    heads: distinct.length,
    signed_size: signedSize,
    computed_root: toHex(computed.root()),
    unsigned_entries: Math.max(0, input.entries.length - signedSize),
    findings,
  };
}

/** One head per size; two validly signed roots for one size are a fork (the signer lied to someone). */
function dedupeHeads(heads: readonly SignedTreeHead[], findings: Finding[]): SignedTreeHead[] {
  const bySize = new Map<number, SignedTreeHead>();
  for (const head of heads) {
    const seen = bySize.get(head.tree_size);
    if (!seen) bySize.set(head.tree_size, head);
    else if (seen.root_hash.toLowerCase() !== head.root_hash.toLowerCase()) {
      findings.push({ kind: 'fork', tree_size: head.tree_size, detail: `two signed heads of size ${head.tree_size} with roots ${seen.root_hash} and ${head.root_hash}` });
    }
  }
  return [...bySize.values()];
}

/**
 * Which entries changed. With leaf records that reproduce the signed heads, entry by entry;
 * otherwise between the last head the log still reproduces and the first it does not.
 */
function pinpoint(input: VerifyLogInput, hashes: readonly Uint8Array[], heads: readonly SignedTreeHead[], failing: readonly SignedTreeHead[]): Finding[] {
  const largest = heads.at(-1)!;
  const records = trustedRecords(input.leaves, heads);
  if (records === null) {
    const firstBad = failing[0]!;
    const lastGood = heads.filter((h) => h.tree_size < firstBad.tree_size && !failing.includes(h)).at(-1)?.tree_size ?? 0;
    const out: Finding[] = [
      { kind: 'head_mismatch', tree_size: firstBad.tree_size, detail: `the change lies in entries ${lastGood}..${firstBad.tree_size - 1} (the log reproduces the head of size ${lastGood}, not the one of size ${firstBad.tree_size})` },
    ];
    if (input.leaves) out.push({ kind: 'tree_record_altered', detail: 'the stored leaf records do not reproduce the signed heads either: they were changed too' });
    return out;
  }
  const size = largest.tree_size;
  const findings: Finding[] = [];
  const positions = new Map<string, number>();
  input.entries.forEach((entry, j) => {
    if (!positions.has(keyOf(entry.stream_id, entry.event_id))) positions.set(keyOf(entry.stream_id, entry.event_id), j);
  });
  const signedKeys = new Set<string>();
  const matched: Array<{ i: number; j: number }> = [];
  for (let i = 0; i < size; i += 1) {
    const record = records[i]!;
    const key = keyOf(record.stream_id, record.event_id);
    signedKeys.add(key);
    const j = positions.get(key);
    const where = { leaf_index: i, event_id: record.event_id, stream_id: record.stream_id };
    if (j === undefined) {
      findings.push({ kind: 'removed', ...where, detail: `entry ${i} (event ${record.event_id} of ${record.stream_id}) is no longer in the log` });
      continue;
    }
    if (!equalHashes(hashes[j]!, hashFromHex(record.leaf_hash)!)) {
      findings.push({ kind: 'altered', ...where, log_index: j, detail: `entry ${i} (event ${record.event_id} of ${record.stream_id}) was changed` });
    }
    matched.push({ i, j });
  }
  // Entries out of the signed order: those not on a longest increasing run of log positions.
  const inOrder = longestIncreasing(matched.map((m) => m.j));
  matched.forEach((m, k) => {
    if (inOrder.has(k)) return;
    const record = records[m.i]!;
    findings.push({ kind: 'reordered', leaf_index: m.i, log_index: m.j, event_id: record.event_id, stream_id: record.stream_id, detail: `entry ${m.i} (event ${record.event_id}) is now at position ${m.j} of the log` });
  });
  const lastSigned = Math.max(-1, ...matched.map((m) => m.j));
  input.entries.forEach((entry, j) => {
    // After the last signed entry the log may hold newer events, not yet signed: not an insertion.
    if (j > lastSigned || signedKeys.has(keyOf(entry.stream_id, entry.event_id))) return;
    findings.push({ kind: 'inserted', log_index: j, event_id: entry.event_id, stream_id: entry.stream_id, detail: `event ${entry.event_id} of ${entry.stream_id} at position ${j} of the log was never signed there` });
  });
  return findings;
}

/** The leaf records, if they reproduce every signed head (then they are as good as the signatures). */
function trustedRecords(leaves: readonly LeafRecord[] | undefined, heads: readonly SignedTreeHead[]): LeafRecord[] | null {
  if (!leaves) return null;
  const sorted = [...leaves].sort((a, b) => a.leaf_index - b.leaf_index);
  if (sorted.some((leaf, i) => leaf.leaf_index !== i || hashFromHex(leaf.leaf_hash) === null)) return null;
  const tree = new MerkleTree();
  for (const leaf of sorted) tree.append(hashFromHex(leaf.leaf_hash)!);
  for (const head of heads) {
    if (head.tree_size > tree.size || !equalHashes(tree.root(head.tree_size), hashFromHex(head.root_hash)!)) return null;
  }
  return sorted;
}

/** Indexes (into `values`) of one longest strictly increasing subsequence, O(n log n). */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = [];
  const previous = new Array<number>(values.length).fill(-1);
  values.forEach((value, k) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (values[tails[mid]!]! < value) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[k] = tails[lo - 1]!;
    tails[lo] = k;
  });
  const kept = new Set<number>();
  for (let k = tails.at(-1) ?? -1; k !== -1; k = previous[k]!) kept.add(k);
  return kept;
}
