import { Inject } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { statementBytes, toHex, type DecisionReceipt, type DecisionStatement } from '@signoff/audit-proof';
import { SignoffError } from '@signoff/contracts';
import { JobCommandHandler, visibleJob } from '@signoff/core';
import { AUDIT_TREE_OPTIONS, AuditTree, type AuditTreeOptions } from './audit-tree.service';
import { latestDecision } from './job-receipt.builder';
import { JobReceiptQuery } from './job-receipt.query';

/**
 * The receipt of a job's latest decision, for whoever may read the job (its submitter, reviewers
 * of its topic, admins, auditors of its tenant): the decision signed with the control plane's key
 * (detached Ed25519 over canonical JSON), with the deciding event's leaf in the audit tree and its
 * inclusion proof to a signed tree head. 409 `not_yet_logged` (Retry-After: 1) while the tree has
 * not logged the event; 409 `no_decision` while the job waits for reviewers.
 */
@QueryHandler(JobReceiptQuery)
export class JobReceiptHandler implements IQueryHandler<JobReceiptQuery> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly tree: AuditTree,
    @Inject(AUDIT_TREE_OPTIONS) private readonly options: AuditTreeOptions,
  ) {}

  async execute({ principal, ref }: JobReceiptQuery): Promise<DecisionReceipt> {
    const { state, events } = await this.commands.load(ref);
    visibleJob(principal, state, ref);
    if (!this.tree.available) throw new SignoffError('audit_unavailable', 'the audit tree is not kept on this event store');
    const facts = latestDecision(ref, events);
    if (!facts) throw new SignoffError('no_decision', 'the job has no decision yet');
    await this.tree.ready();
    const leaf = (await this.tree.findLeaves(facts.event_id)).find((l) => l.stream_id === facts.stream_id && l.leaf_index < this.tree.size);
    if (!leaf) throw new SignoffError('not_yet_logged', 'the audit log has not recorded the decision yet', {}, { 'retry-after': '1' });
    const receipt: DecisionStatement = { ...facts, log_index: leaf.leaf_index, leaf_hash: leaf.leaf_hash };
    const head = await this.tree.headCovering(leaf.leaf_index + 1);
    const signature = this.options.keys.signDetached(statementBytes(receipt as never, this.options.keys.currentKid));
    return {
      receipt,
      ...signature,
      inclusion: { tree_size: head.tree_size, audit_path: this.tree.merkle.inclusionProof(leaf.leaf_index, head.tree_size).map(toHex), tree_head: head },
    };
  }
}
