import { CommandHandler, ICommandHandler, IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { toHex, type SignedTreeHead } from '@signoff/audit-proof';
import { SignoffError } from '@signoff/contracts';
import type { AuditLeaf } from '@signoff/event-store';
import { AuditTree } from './audit-tree.service';
import { mayProve, parseEventId, parseTreeSize } from './audit-input';
import {
  ConsistencyProofQuery,
  ConsistencyProofView,
  InclusionProofQuery,
  InclusionProofView,
  SignTreeHeadCommand,
  TreeHeadQuery,
} from './audit-proofs.query';

function available(tree: AuditTree): AuditTree {
  if (!tree.available) throw new SignoffError('audit_unavailable', 'the audit tree is not kept on this event store');
  return tree;
}

@QueryHandler(TreeHeadQuery)
export class TreeHeadHandler implements IQueryHandler<TreeHeadQuery> {
  constructor(private readonly tree: AuditTree) {}

  execute(): Promise<SignedTreeHead> {
    return available(this.tree).latestHead();
  }
}

@CommandHandler(SignTreeHeadCommand)
export class SignTreeHeadHandler implements ICommandHandler<SignTreeHeadCommand> {
  constructor(private readonly tree: AuditTree) {}

  execute(): Promise<SignedTreeHead> {
    return available(this.tree).signNow();
  }
}

/**
 * The inclusion proof of an event, to a signed head: the newest head by default (a new head is
 * signed when the event is newer than it), or the head of `tree_size`. Only hashes leave: the
 * leaf hash, the audit path and the head, never another event's content. A tenant-scoped caller
 * gets proofs of its tenants' events only; anything else is 404 like an unknown id.
 */
@QueryHandler(InclusionProofQuery)
export class InclusionProofHandler implements IQueryHandler<InclusionProofQuery> {
  constructor(private readonly tree: AuditTree) {}

  async execute({ principal, input }: InclusionProofQuery): Promise<InclusionProofView> {
    const since = performance.now();
    const tree = available(this.tree);
    const eventId = parseEventId(input.event_id);
    await tree.ready();
    const requested = input.tree_size === undefined ? null : parseTreeSize('tree_size', input.tree_size, 0, 1, tree.size);
    const leaf = (await provable(tree, principal, eventId)) ?? (await provableOnceLogged(tree, principal, eventId, since));
    if (requested !== null && requested <= leaf.leaf_index) {
      throw new SignoffError('invalid_tree_size', `tree_size must be above the event's leaf index ${leaf.leaf_index}`, { parameter: 'tree_size' });
    }
    const latest = await tree.latestHead();
    const head =
      requested !== null ? ((await tree.headOfSize(requested)) ?? signedSizeMissing(requested)) : latest.tree_size > leaf.leaf_index ? latest : await tree.headCovering(leaf.leaf_index + 1);
    return {
      event_id: eventId,
      leaf_index: leaf.leaf_index,
      leaf_hash: leaf.leaf_hash,
      tree_size: head.tree_size,
      audit_path: tree.merkle.inclusionProof(leaf.leaf_index, head.tree_size).map(toHex),
      tree_head: head,
    };
  }
}

/** How long an inclusion proof of an id the tree does not hold waits for the tree to read the log. */
export const PROOF_CATCH_UP_MS = 2000;

function provable(tree: AuditTree, principal: InclusionProofQuery['principal'], eventId: string): Promise<AuditLeaf | undefined> {
  return tree.findLeaves(eventId).then((leaves) => leaves.find((l) => l.leaf_index < tree.size && mayProve(principal, l.tenant)));
}

/**
 * An id the tree does not hold yet: 404 only once the tree has logged everything the log held
 * when the request came (`since`; the tree trails the log). While it is still building, or cannot read,
 * 503 `audit_unavailable` with Retry-After: a client must not take "not logged yet" for "no such
 * event". The 503 is the same for an id that exists and one that does not, and for another
 * tenant's event, so it tells nothing about the event.
 */
async function provableOnceLogged(tree: AuditTree, principal: InclusionProofQuery['principal'], eventId: string, since: number): Promise<AuditLeaf> {
  const caughtUp = await tree.loggedAllAsOfNow(since, PROOF_CATCH_UP_MS);
  const leaf = await provable(tree, principal, eventId);
  if (leaf) return leaf;
  if (caughtUp !== 'caught_up') {
    throw new SignoffError(
      'audit_unavailable',
      caughtUp === 'behind' ? 'the audit tree is still logging the event log; retry shortly' : 'the audit tree cannot read the event log now; retry shortly',
      { reason: caughtUp === 'behind' ? 'tree_catching_up' : 'tree_stalled', tree_size: tree.size },
      { 'Retry-After': '1' },
    );
  }
  throw new SignoffError('not_found', 'no such event in the audit log');
}

function signedSizeMissing(size: number): never {
  throw new SignoffError('invalid_tree_size', `no signed tree head has size ${size}`, { parameter: 'tree_size' });
}

/** The consistency proof between two sizes of the tree (default `to`: the newest signed head). */
@QueryHandler(ConsistencyProofQuery)
export class ConsistencyProofHandler implements IQueryHandler<ConsistencyProofQuery> {
  constructor(private readonly tree: AuditTree) {}

  async execute({ input }: ConsistencyProofQuery): Promise<ConsistencyProofView> {
    const tree = available(this.tree);
    const latest = await tree.latestHead();
    const to = parseTreeSize('to', input.to, latest.tree_size, 0, tree.size);
    if (input.from === undefined) throw new SignoffError('invalid_tree_size', 'from is required', { parameter: 'from' });
    const from = parseTreeSize('from', input.from, 0, 0, to);
    return {
      from,
      to,
      consistency_path: tree.merkle.consistencyProof(from, to).map(toHex),
      from_root: toHex(tree.merkle.root(from)),
      to_root: toHex(tree.merkle.root(to)),
      from_head: await tree.headOfSize(from),
      to_head: await tree.headOfSize(to),
    };
  }
}
