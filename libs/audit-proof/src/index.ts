/**
 * @signoff/audit-proof: the verifiable audit log, small enough to read in one sitting.
 * - rfc9162.ts: RFC 9162 §2.1 hashing (leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || l || r))
 *   and the verification of inclusion and consistency proofs;
 * - merkle-tree.ts: an append-only tree that answers roots of any size and both proofs in O(log n);
 * - log-entry.ts: what a leaf commits to (one stored event, RFC 8785 canonical JSON);
 * - signed-statement.ts: signed tree heads and receipts (detached Ed25519 over canonical JSON);
 * - verify-log.ts: the whole-log check with a report of what was altered, removed, inserted or moved.
 * No Nest, no store: an auditor needs this library, the events and the public key.
 */
export { EMPTY_ROOT, HASH_SIZE, equalHashes, hashChildren, hashLeaf, rootOfLeafHashes, splitPoint, verifyConsistency, verifyInclusion } from './rfc9162';
export { MerkleTree } from './merkle-tree';
export { canonicalBytes, hashFromHex, leafHashOf, logEntryOf, toHex, type LogEntry } from './log-entry';
export {
  RECEIPT_STATEMENT,
  TREE_HEAD_STATEMENT,
  checkSignature,
  checkTreeHead,
  publicKeysOf,
  statementBytes,
  treeHeadBytes,
  type PublicJwk,
  type Signature,
  type SignatureProblem,
  type SignedTreeHead,
  type TreeHead,
} from './signed-statement';
export { verifyLog, type Finding, type FindingKind, type LeafRecord, type VerifyLogInput, type VerifyReport } from './verify-log';
export { checkReceipt, type DecisionReceipt, type DecisionStatement, type ReceiptDecision } from './receipt';
