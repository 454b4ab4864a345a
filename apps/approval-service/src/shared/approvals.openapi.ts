import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * OpenAPI descriptions of the reviewer API's answers (served at /docs). The request bodies are the
 * contracts' ApproveDto / RejectDto, errors the contracts' ProblemDto.
 */

const SHA256 = '^sha256:[0-9a-f]{64}$';

export class ApproveAnswerDoc {
  @ApiProperty() job_id!: string;
  @ApiProperty({
    enum: ['approved', 'approval_recorded', 'already_approved'],
    description: 'approved: this call completed the approval; approval_recorded: counted, quorum not reached; already_approved: repeated call.',
  })
  status!: string;
  @ApiPropertyOptional({ description: 'approved, already_approved: the id of the granted approval.' })
  approval_id?: string;
  @ApiPropertyOptional({ description: 'approved: the job state after the grant (PENDING); already_approved: where the job stands now (PENDING, DISPATCHED, SUCCEEDED, ...).' })
  state?: string;
  @ApiPropertyOptional({ description: 'approved, approval_recorded: distinct reviewers counted (for the approved version).' })
  approvals?: number;
  @ApiPropertyOptional({ description: 'approved, approval_recorded: distinct reviewers needed.' })
  required?: number;
  @ApiPropertyOptional({ description: 'Edit before approve: the hash of the amended request this vote approved (approvals counts the votes for it).' })
  approved_job_hash?: string;
}

export class RejectAnswerDoc {
  @ApiProperty() job_id!: string;
  @ApiProperty({ enum: ['rejected', 'already_rejected'] }) status!: string;
  @ApiPropertyOptional({ description: 'rejected: REJECTED.' }) state?: string;
}

export class ApprovalItemDoc {
  @ApiProperty() job_id!: string;
  @ApiProperty({ description: "The job's tenant: job ids are scoped by tenant (pass it as `?tenant=`)." }) tenant!: string;
  @ApiProperty() approval_ref!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ nullable: true, type: String }) rule_id!: string | null;
  @ApiProperty({ format: 'date-time' }) requested_at!: string;
  @ApiProperty({ format: 'date-time' }) expires_at!: string;
  @ApiProperty({ pattern: SHA256, description: 'The policy snapshot the approval is bound to.' }) policy_snapshot!: string;
  @ApiProperty({ pattern: SHA256, description: 'The job hash the approval is bound to.' }) job_hash!: string;
  @ApiProperty({ description: 'The active policy would refuse this approval (409 snapshot_changed on approve).' }) drifted!: boolean;
  @ApiProperty({ description: 'Distinct reviewers counted so far.' }) approvals!: number;
  @ApiProperty({ description: 'Distinct reviewers needed.' }) required!: number;
}

export class ApprovalPageDoc {
  @ApiProperty({ type: [ApprovalItemDoc] }) items!: ApprovalItemDoc[];
  @ApiProperty({ nullable: true, type: String, description: 'Opaque; pass as `cursor` for the next page. Null on the last page.' })
  next_cursor!: string | null;
}

export class ApprovalDetailDoc extends ApprovalItemDoc {
  @ApiProperty({ enum: ['pending', 'approved', 'rejected', 'expired', 'invalidated'] }) state!: string;
  @ApiProperty({ description: 'The job state (DESIGN section 2).' }) job_state!: string;
  @ApiProperty({ type: [String], description: 'Roles allowed to approve; empty = any reviewer.' }) reviewers!: string[];
  @ApiProperty({ type: [String], description: 'Reviewers who voted so far for the original request.' }) voters!: string[];
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object' },
    description: 'Edit before approve: amended requests reviewers approved, each {job_hash, changed_paths, proposed_by, proposed_at, decision, rule_id, approvals, voters, request}.',
  })
  amendments?: unknown[];
  @ApiPropertyOptional({ description: 'Set when the grant binds an amendment: its hash.' }) approved_job_hash?: string;
  @ApiProperty({ pattern: SHA256 }) active_policy_snapshot!: string;
  @ApiProperty({ description: 'The job request {topic, priority, tenant, submitted_by, labels, payload}, with AUDIT_REDACT_FIELDS and the rule\'s `redact` paths redacted.' }) request!: object;
  @ApiPropertyOptional() approval_id?: string;
  @ApiPropertyOptional({ type: [String] }) approved_by?: string[];
}

export class JobEventDoc {
  @ApiProperty() revision!: number;
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'JobSubmitted, PolicyEvaluated, ApprovalRequested, ApprovalVoteRecorded, ApprovalGranted, ...' }) type!: string;
  @ApiProperty({ description: 'The event data; the job request and the worker\'s result with AUDIT_REDACT_FIELDS and the rule\'s `redact` paths redacted.' }) data!: object;
  @ApiProperty({ description: '{correlationId, causationId, actor, at}' }) metadata!: object;
  @ApiProperty({ format: 'date-time' }) recorded_at!: string;
}

export class JobEventsDoc {
  @ApiProperty() job_id!: string;
  @ApiProperty() tenant!: string;
  @ApiProperty({ type: [JobEventDoc] }) events!: JobEventDoc[];
}
