/**
 * Signed decision receipts: what was decided about a job, by whom, when, under which policy, and
 * where the deciding event sits in the audit log. The signature covers the statement; the
 * inclusion proof that comes with it joins the receipt to a signed tree head.
 */
import type { KeyObject } from 'node:crypto';
import { hashFromHex } from './log-entry';
import { verifyInclusion } from './rfc9162';
import { checkSignature, checkTreeHead, RECEIPT_STATEMENT, statementBytes, type Signature, type SignedTreeHead } from './signed-statement';

export type ReceiptDecision = 'allowed' | 'denied' | 'granted' | 'rejected' | 'expired' | 'invalidated';

/** The signed part of a receipt. */
export interface DecisionStatement {
  readonly statement: typeof RECEIPT_STATEMENT;
  readonly job_id: string;
  readonly tenant: string;
  readonly job_hash: string;
  readonly policy_snapshot: string;
  readonly decision: ReceiptDecision;
  /** Who decided: the approvers of a grant, the reviewer of a rejection; empty for policy and timeouts. */
  readonly approvers: readonly string[];
  /** When it was decided (the event's `at`). */
  readonly decided_at: string;
  /** The deciding event: its id and stream, its leaf in the audit tree and that leaf's hash. */
  readonly event_id: string;
  readonly stream_id: string;
  readonly log_index: number;
  readonly leaf_hash: string;
}

/** A receipt: the statement, its signature, and the inclusion of its event in a signed tree head. */
export interface DecisionReceipt extends Signature {
  readonly receipt: DecisionStatement;
  readonly inclusion: { readonly tree_size: number; readonly audit_path: readonly string[]; readonly tree_head: SignedTreeHead };
}

/** Problems of a receipt; empty when the signature, the head and the inclusion proof all verify. */
export function checkReceipt(receipt: DecisionReceipt, keys: ReadonlyMap<string, KeyObject>): string[] {
  const problems: string[] = [];
  if (receipt?.receipt?.statement !== RECEIPT_STATEMENT) return ['not a decision receipt'];
  const signature = checkSignature(statementBytes(receipt.receipt as never, receipt.key_id), receipt, keys);
  if (signature) problems.push(`receipt signature: ${signature}`);
  const { inclusion } = receipt;
  const head = inclusion?.tree_head;
  const headProblem = head ? checkTreeHead(head, keys) : 'missing';
  if (headProblem) problems.push(`tree head: ${headProblem}`);
  const leaf = hashFromHex(receipt.receipt.leaf_hash);
  const path = Array.isArray(inclusion?.audit_path) ? inclusion.audit_path.map(hashFromHex) : [null];
  if (!head || headProblem || !leaf || path.some((h) => h === null) || head.tree_size !== inclusion.tree_size) problems.push('inclusion proof: malformed');
  else if (!verifyInclusion(receipt.receipt.log_index, head.tree_size, leaf, path as Uint8Array[], hashFromHex(head.root_hash)!)) problems.push('inclusion proof: the event is not at log_index of the signed tree');
  return problems;
}
