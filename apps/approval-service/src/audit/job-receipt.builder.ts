import { RECEIPT_STATEMENT, type DecisionStatement, type ReceiptDecision } from '@signoff/audit-proof';
import type { JobEvent, JobRef } from '@signoff/contracts';
import type { RecordedEvent } from '@signoff/event-store';

/** The deciding event of a job and what a receipt states about it, before the log index is known. */
export type DecisionFacts = Omit<DecisionStatement, 'log_index' | 'leaf_hash'>;

/**
 * The latest decision in a job's history as a receipt statement (without its place in the audit
 * log): allowed or denied by policy, granted, rejected, expired or invalidated. Null while the job
 * waits for reviewers (no decision yet). Pure: the events in, the statement out.
 */
export function latestDecision(ref: JobRef, events: readonly RecordedEvent<JobEvent>[]): DecisionFacts | null {
  let jobHash = '';
  let snapshot = '';
  let decided: DecisionFacts | null = null;
  for (const event of events) {
    const at = (event.metadata as { at?: unknown }).at;
    const facts = (decision: ReceiptDecision, approvers: readonly string[], bound: { job_hash?: string; policy_snapshot?: string } = {}): DecisionFacts => ({
      statement: RECEIPT_STATEMENT,
      job_id: ref.jobId,
      tenant: ref.tenant,
      job_hash: bound.job_hash ?? jobHash,
      policy_snapshot: bound.policy_snapshot ?? snapshot,
      decision,
      approvers: [...approvers],
      decided_at: typeof at === 'string' ? at : event.createdAt.toISOString(),
      event_id: event.id,
      stream_id: event.streamId,
    });
    switch (event.type) {
      case 'JobSubmitted':
        jobHash = event.data.job_hash;
        break;
      case 'PolicyEvaluated':
        snapshot = event.data.policy_snapshot;
        if (event.data.decision === 'allow') decided = facts('allowed', []);
        else if (event.data.decision === 'deny') decided = facts('denied', []);
        break;
      case 'ApprovalRequested':
        snapshot = event.data.policy_snapshot;
        jobHash = event.data.job_hash;
        break;
      case 'ApprovalGranted':
        decided = facts('granted', event.data.approved_by, { job_hash: event.data.job_hash, policy_snapshot: event.data.policy_snapshot });
        break;
      case 'ApprovalRejected':
        decided = facts('rejected', [event.data.rejected_by]);
        break;
      case 'ApprovalExpired':
        decided = facts('expired', []);
        break;
      case 'ApprovalInvalidated':
        decided = facts('invalidated', []);
        break;
      default:
        break;
    }
  }
  return decided;
}
