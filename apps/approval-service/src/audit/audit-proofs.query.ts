import { Command, Query } from '@nestjs/cqrs';
import type { SignedTreeHead } from '@signoff/audit-proof';
import type { Principal } from '@signoff/runtime';

/** `GET /audit/tree-head`: the newest signed tree head. */
export class TreeHeadQuery extends Query<SignedTreeHead> {}

/** `POST /audit/tree-head` (admin): sign a head of the tree as it is now. */
export class SignTreeHeadCommand extends Command<SignedTreeHead> {}

export interface InclusionProofView {
  readonly event_id: string;
  readonly leaf_index: number;
  /** Hex of SHA-256(0x00 || canonical event). */
  readonly leaf_hash: string;
  readonly tree_size: number;
  /** RFC 9162 audit path, leaf to root, hex. */
  readonly audit_path: string[];
  /** The signed head of `tree_size` the path leads to. */
  readonly tree_head: SignedTreeHead;
}

/** `GET /audit/proof/inclusion?event_id=&tree_size=`: the event's leaf and its audit path to a signed head. */
export class InclusionProofQuery extends Query<InclusionProofView> {
  constructor(
    readonly principal: Principal,
    readonly input: { readonly event_id?: string | null; readonly tree_size?: string | null },
  ) {
    super();
  }
}

export interface ConsistencyProofView {
  readonly from: number;
  readonly to: number;
  /** RFC 9162 consistency proof from `from` to `to`, hex. */
  readonly consistency_path: string[];
  readonly from_root: string;
  readonly to_root: string;
  /** The stored signed heads of exactly these sizes, when there are some. */
  readonly from_head: SignedTreeHead | null;
  readonly to_head: SignedTreeHead | null;
}

/** `GET /audit/proof/consistency?from=&to=`: proves the tree of `from` leaves is a prefix of the tree of `to`. */
export class ConsistencyProofQuery extends Query<ConsistencyProofView> {
  constructor(readonly input: { readonly from?: string | null; readonly to?: string | null }) {
    super();
  }
}
