import { votesFor, type ApprovalRequiredJob } from '@signoff/approvals';
import type { JobRequest } from '@signoff/contracts';
import type { ReadableJob } from '@signoff/runtime';

/** Where an approval stands, as the reviewer API names it. */
export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'invalidated';

/** An approval as the read side shows it (list items, gRPC `Approval`, WatchApprovals changes). */
export interface ApprovalSummary {
  readonly job_id: string;
  readonly approval_ref: string;
  readonly topic: string;
  readonly tenant: string;
  readonly rule_id: string | null;
  readonly requested_at: string;
  readonly expires_at: string;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  /** The active policy would no longer honour this approval (DESIGN section 3, snapshot mode). */
  readonly drifted: boolean;
  /** Distinct reviewers counted so far. */
  readonly approvals: number;
  readonly required: number;
  readonly state: ApprovalState;
  /** The job request the approval is bound to (evidence for the reviewer), redacted for readers. */
  readonly request: JobRequest;
}

/** What a WatchApprovals subscriber is told. */
export type ApprovalChangeKind =
  | 'requested'
  | 'vote_recorded'
  | 'granted'
  | 'rejected'
  | 'expired'
  | 'invalidated'
  | 'drifted'
  /** An escalation step reminded its targets (ApprovalReminderSent). */
  | 'reminded'
  /** An escalation step added reviewer roles (ApprovalEscalated). */
  | 'escalated';

export interface ApprovalChange {
  /**
   * Where the change sits in this instance's feed, resumable (SSE `id:`): the global log position
   * of the event that made it (`"42"`), or for a drift (noticed on a policy activation, not an event
   * of the job) the position of the last event folded before it and a counter (`"42.1"`).
   */
  readonly id: string;
  readonly kind: ApprovalChangeKind;
  readonly approval: ApprovalSummary;
  /** When it happened (the event's `at`; for drift, when this instance noticed). */
  readonly at: string;
  /** Who may see the change is decided on the stored request, never on its redacted copy (not sent). */
  readonly readable: ReadableJob;
}

/** The summary of an awaiting approval. */
export function summaryOf(job: ApprovalRequiredJob, drifted: boolean, state: ApprovalState = 'pending'): ApprovalSummary {
  const { approval, job: facts } = job;
  return {
    job_id: facts.job_id,
    approval_ref: approval.approval_ref,
    topic: facts.request.topic,
    tenant: facts.request.tenant,
    rule_id: approval.rule_id,
    requested_at: approval.requested_at,
    expires_at: approval.expires_at,
    policy_snapshot: approval.policy_snapshot,
    job_hash: approval.job_hash,
    drifted,
    // Votes for the original request; an amendment's votes count for it alone (job.amendment.ts).
    approvals: votesFor(approval, approval.job_hash).length,
    required: approval.requirement.required,
    state,
    request: facts.request,
  };
}

/**
 * A list item of `GET /approvals`: the members of DESIGN section 4 and `tenant` (job ids are
 * scoped by tenant: pass it back as `?tenant=` to read or decide the approval).
 */
export interface ApprovalListItem {
  readonly job_id: string;
  readonly tenant: string;
  readonly approval_ref: string;
  readonly topic: string;
  readonly rule_id: string | null;
  readonly requested_at: string;
  readonly expires_at: string;
  readonly policy_snapshot: string;
  readonly job_hash: string;
  readonly drifted: boolean;
  readonly approvals: number;
  readonly required: number;
}

export function toListItem(s: ApprovalSummary): ApprovalListItem {
  return {
    job_id: s.job_id,
    tenant: s.tenant,
    approval_ref: s.approval_ref,
    topic: s.topic,
    rule_id: s.rule_id,
    requested_at: s.requested_at,
    expires_at: s.expires_at,
    policy_snapshot: s.policy_snapshot,
    job_hash: s.job_hash,
    drifted: s.drifted,
    approvals: s.approvals,
    required: s.required,
  };
}
