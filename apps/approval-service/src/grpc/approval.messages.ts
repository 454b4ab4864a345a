import { canonicalJson } from '@signoff/policy-engine';
import type { ApprovalDetail } from '../get-approval/get-approval.query';
import type { ApprovalChange, ApprovalSummary } from '../projections/approval-summary';

/** `signoff.v1.Approval` (proto field names; proto3 has no null, so absent strings are ''). */
export interface ApprovalMessage {
  job_id: string;
  approval_ref: string;
  topic: string;
  rule_id: string;
  requested_at: string;
  expires_at: string;
  policy_snapshot: string;
  job_hash: string;
  drifted: boolean;
  approvals: number;
  required: number;
  state: string;
  tenant: string;
  request_json: string;
}

export function approvalMessage(a: ApprovalSummary | ApprovalDetail): ApprovalMessage {
  return {
    job_id: a.job_id,
    approval_ref: a.approval_ref,
    topic: a.topic,
    rule_id: a.rule_id ?? '',
    requested_at: a.requested_at,
    expires_at: a.expires_at,
    policy_snapshot: a.policy_snapshot,
    job_hash: a.job_hash,
    drifted: a.drifted,
    approvals: a.approvals,
    required: a.required,
    state: a.state,
    tenant: a.tenant,
    request_json: canonicalJson(a.request),
  };
}

export interface ApprovalChangeMessage {
  kind: string;
  approval: ApprovalMessage;
  at: string;
}

export function approvalChangeMessage(change: ApprovalChange): ApprovalChangeMessage {
  return { kind: change.kind, approval: approvalMessage(change.approval), at: change.at };
}
