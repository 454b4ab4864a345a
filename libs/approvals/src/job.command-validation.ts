import type { CommandMetadata, GrantCheck, GrantSnapshotMode, JobCommand, JobCommandType } from './job.commands';
import { instantMs, invalid } from './job.decision-kit';
import type { DecideRefused } from './job.outcomes';
import type { JobAggregateState } from './job.state';

/*
 * The shape checks of every command, in one place (internal to the lib). Commands arrive from
 * HTTP, gRPC and Kafka through the shells, so their fields are checked here, before any decider
 * sees them: a malformed command is refused `invalid_request` naming the field, whatever state
 * the job is in. Rules run in the order listed; the first that fails answers.
 */

/** Largest |ms| a JS Date can hold; beyond it `toISOString` would throw. */
export const MAX_DATE_MS = 8.64e15;

export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.every((r) => typeof r === 'string');
}

/**
 * How far the current attempt got, by the ReplayDispatch `reason` that names the stage it got
 * stuck at (the keys are also the reasons a replay may give).
 */
export const REPLAY_REASON_STAGE = { not_published: 0, not_recorded: 1, not_acknowledged: 2, not_completed: 3 } as const;

// ---------------------------------------------------------------------------------------------
// rules

type DataOf<T extends JobCommandType> = Extract<JobCommand, { type: T }>['data'];
type Rule<D> = (data: D, nowMs: number) => DecideRefused | null;
type Key<D> = Extract<keyof D, string>;

const field = (data: unknown, key: string): unknown => (data as Record<string, unknown>)[key];

/** A non-blank string (`<key> is required` unless told otherwise). */
const required =
  <D>(key: Key<D>, message = `${key} is required`): Rule<D> =>
  (data) =>
    isNonEmptyString(field(data, key)) ? null : invalid(message, key);

/** An integer >= 1. */
const positive =
  <D>(key: Key<D>): Rule<D> =>
  (data) =>
    isPositiveInteger(field(data, key)) ? null : invalid(`${key} must be an integer >= 1`, key);

/** One of a few literals. */
const oneOf =
  <D>(key: Key<D>, values: readonly string[], message: string): Rule<D> =>
  (data) =>
    values.includes(field(data, key) as string) ? null : invalid(message, key);

/** The reviewer of an approve or a reject: a subject and its roles. */
const reviewerRules: readonly Rule<{ readonly reviewer: unknown; readonly reviewer_roles: unknown; readonly delegation?: unknown }>[] = [
  required('reviewer'),
  (data) => (isStringList(data.reviewer_roles) ? null : invalid('reviewer_roles must be a list of strings', 'reviewer_roles')),
  ({ delegation }) => {
    // A vote under a delegation names who cast it and at least one delegation link.
    if (delegation === undefined) return null;
    const d = delegation as { cast_by?: unknown; on_behalf_of?: unknown } | null;
    if (typeof d !== 'object' || d === null || !isNonEmptyString(d.cast_by)) return invalid('delegation.cast_by is required', 'delegation.cast_by');
    const links = d.on_behalf_of;
    const wellFormed = (l: unknown) => typeof l === 'object' && l !== null && ['delegation_id', 'delegator', 'delegate'].every((k) => isNonEmptyString((l as Record<string, unknown>)[k]));
    return Array.isArray(links) && links.length > 0 && links.every(wellFormed) ? null : invalid('delegation.on_behalf_of must list the delegations followed', 'delegation.on_behalf_of');
  },
];

const submitRules: Rule<DataOf<'SubmitJob'>>[] = [
  required('job_hash'),
  (data) => (typeof data.request !== 'object' || data.request === null ? invalid('request is required', 'request') : null),
  ({ policy }) => {
    if (typeof policy !== 'object' || policy === null) return invalid('policy outcome is required', 'policy');
    if (policy.decision !== 'allow' && policy.decision !== 'deny' && policy.decision !== 'require_human') {
      // Throttled jobs are refused before any state exists (DESIGN section 2).
      return invalid(`policy decision ${String(policy.decision)} cannot be recorded`, 'policy.decision');
    }
    if (!isNonEmptyString(policy.policy_snapshot)) return invalid('policy_snapshot is required', 'policy.policy_snapshot');
    return null;
  },
  (data, nowMs) => {
    if (data.policy.decision !== 'require_human') return null;
    const requirement = data.policy.approval;
    if (!isNonEmptyString(data.approval_ref)) return invalid('approval_ref is required for require_human', 'approval_ref');
    if (typeof requirement !== 'object' || requirement === null) {
      return invalid('the approval requirement is required for require_human', 'policy.approval');
    }
    if (!isPositiveInteger(requirement.required)) {
      return invalid('approval.required must be an integer >= 1', 'policy.approval.required');
    }
    if (!isStringList(requirement.reviewers)) {
      return invalid('approval.reviewers must be a list of roles', 'policy.approval.reviewers');
    }
    if (requirement.on_timeout !== 'reject') {
      return invalid('approval.on_timeout must be reject', 'policy.approval.on_timeout');
    }
    if (!isPositiveInteger(requirement.timeout_ms) || nowMs + requirement.timeout_ms > MAX_DATE_MS) {
      return invalid('approval.timeout_ms must be a positive integer of milliseconds', 'policy.approval.timeout_ms');
    }
    return escalationRequirementError(requirement);
  },
];

/** `notify` and `escalate` of a requirement, when present: what the escalation decider relies on. */
function escalationRequirementError(requirement: { readonly timeout_ms: number; readonly notify?: unknown; readonly escalate?: unknown }): DecideRefused | null {
  if (requirement.notify !== undefined && !isStringList(requirement.notify)) return invalid('approval.notify must be a list of targets', 'policy.approval.notify');
  if (requirement.escalate === undefined) return null;
  const steps = requirement.escalate;
  if (!Array.isArray(steps) || steps.length > 10) return invalid('approval.escalate must be a list of at most 10 steps', 'policy.approval.escalate');
  let previous = 0;
  for (const [index, step] of steps.entries()) {
    const at = `policy.approval.escalate[${index}]`;
    const s = step as { after_ms?: unknown; notify?: unknown; add_reviewers?: unknown } | null;
    if (typeof s !== 'object' || s === null || !isPositiveInteger(s.after_ms) || s.after_ms <= previous || s.after_ms >= requirement.timeout_ms) {
      return invalid('escalation steps need after_ms, strictly increasing and below timeout_ms', `${at}.after_ms`);
    }
    if (s.notify !== undefined && !isStringList(s.notify)) return invalid('a step notify must be a list of targets', `${at}.notify`);
    if (s.add_reviewers !== undefined && !isStringList(s.add_reviewers)) return invalid('add_reviewers must be a list of roles', `${at}.add_reviewers`);
    previous = s.after_ms;
  }
  return null;
}

/** Edit before approve: an amendment, when present, is a request with its hash and a policy outcome the decider can read. */
const amendmentRule: Rule<DataOf<'ApproveJob'>> = ({ amendment }) => {
  if (amendment === undefined) return null;
  if (typeof amendment !== 'object' || amendment === null) return invalid('amendment must be an object', 'amendment');
  if (!isNonEmptyString(amendment.job_hash)) return invalid('amendment.job_hash is required', 'amendment.job_hash');
  const request = amendment.request as unknown;
  if (typeof request !== 'object' || request === null || typeof (request as { labels?: unknown }).labels !== 'object' || (request as { labels?: unknown }).labels === null) {
    return invalid('amendment.request must be a job request', 'amendment.request');
  }
  const evaluation = amendment.evaluation as { decision?: unknown; requirement?: { required?: unknown; reviewers?: unknown } } | null;
  if (typeof evaluation !== 'object' || evaluation === null || !['allow', 'deny', 'require_human'].includes(String(evaluation.decision))) {
    return invalid('amendment.evaluation.decision must be allow, deny or require_human', 'amendment.evaluation');
  }
  if (evaluation.decision === 'require_human' && (!isPositiveInteger(evaluation.requirement?.required) || !isStringList(evaluation.requirement?.reviewers))) {
    return invalid('amendment.evaluation.requirement must name required and reviewers', 'amendment.evaluation.requirement');
  }
  return null;
};

/**
 * The tenants the reporting worker may report on: absent or null (any), else a list of strings.
 * Anything else is refused before the scope is read: a string would be matched by substring
 * (`'acme-corp'.includes('acme')`), and an object would throw inside the decider.
 */
const reporterScope: Rule<{ readonly reporter_tenants?: unknown }> = ({ reporter_tenants: scope }) =>
  scope === undefined || scope === null || isStringList(scope) ? null : invalid('reporter_tenants must be a list of tenants', 'reporter_tenants');

/** The rules of each command type. */
const RULES: { readonly [T in JobCommandType]: readonly Rule<DataOf<T>>[] } = {
  SubmitJob: submitRules,
  ApproveJob: [...reviewerRules, required('approval_id'), required('active_policy_snapshot'), required('current_job_hash'), amendmentRule],
  // `reason` first: it reveals nothing about the reviewer.
  RejectJob: [required('reason', 'reason is required to reject'), ...reviewerRules],
  ExpireApproval: [],
  EscalateApproval: [positive('step')],
  InvalidateApproval: [
    oneOf('code', ['snapshot_changed', 'job_request_changed'], 'code must be snapshot_changed or job_request_changed'),
    required('expected'),
    required('current'),
  ],
  ClaimDispatch: [positive('attempt'), required('idempotency_key'), required('claimed_by')],
  RecordDispatch: [
    positive('attempt'),
    required('idempotency_key'),
    required('topic'),
    ({ partition }) =>
      typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0
        ? invalid('partition must be an integer >= 0', 'partition')
        : null,
    required('offset'),
  ],
  ReplayDispatch: [
    ({ attempt }) => (!isPositiveInteger(attempt) || attempt < 2 ? invalid('a replay opens attempt 2 or later', 'attempt') : null),
    positive('max_attempts'),
    ({ reason }) =>
      Object.hasOwn(REPLAY_REASON_STAGE, reason)
        ? null
        : invalid('reason must be not_published, not_recorded, not_acknowledged or not_completed', 'reason'),
    ({ reason, run_timeout_ms }) =>
      reason === 'not_completed' && !isPositiveInteger(run_timeout_ms)
        ? invalid('run_timeout_ms is required to replay a job that did not complete', 'run_timeout_ms')
        : null,
    ({ claim }) => {
      // A replay that claims the attempt it opens names the claimant and a key (kept only when none is fixed).
      if (claim === undefined) return null;
      const c = claim as { claimed_by?: unknown; idempotency_key?: unknown } | null;
      if (typeof c !== 'object' || c === null || !isNonEmptyString(c.claimed_by)) return invalid('claim.claimed_by is required', 'claim.claimed_by');
      return isNonEmptyString(c.idempotency_key) ? null : invalid('claim.idempotency_key is required', 'claim.idempotency_key');
    },
  ],
  RecordJobStarted: [required('idempotency_key'), positive('attempt'), required('worker'), reporterScope],
  RecordJobCompleted: [
    required('idempotency_key'),
    oneOf('status', ['succeeded', 'failed'], 'status must be succeeded or failed'),
    positive('attempt'),
    reporterScope,
  ],
  RecordJobOutcomeUnknown: [
    required('idempotency_key'),
    positive('attempt'),
    required('worker'),
    required('reason'),
    ({ fencing_token }) =>
      fencing_token !== undefined && !isPositiveInteger(fencing_token) ? invalid('fencing_token must be an integer >= 1', 'fencing_token') : null,
    reporterScope,
  ],
  ResolveJobOutcome: [
    oneOf('outcome', ['succeeded', 'failed'], 'outcome must be succeeded or failed'),
    required('reason', 'reason is required to resolve an outcome'),
    required('resolved_by'),
  ],
};

// ---------------------------------------------------------------------------------------------
// entry points

/**
 * The envelope every command needs: its metadata (ids, actor, a readable `now`) and a `job_id`
 * that is the job of the stream it is decided on. Returns `now` in epoch ms, or the refusal.
 */
export function checkEnvelope(command: JobCommand, state: JobAggregateState): DecideRefused | number {
  const metadata = command.metadata as Partial<CommandMetadata> | undefined;
  if (typeof metadata !== 'object' || metadata === null) return invalid('command metadata is required', 'metadata');
  if (!isNonEmptyString(metadata.commandId)) return invalid('metadata.commandId is required', 'metadata.commandId');
  if (!isNonEmptyString(metadata.correlationId)) {
    return invalid('metadata.correlationId is required', 'metadata.correlationId');
  }
  if (!isNonEmptyString(metadata.actor)) return invalid('metadata.actor is required', 'metadata.actor');
  const nowMs = instantMs(metadata.now);
  if (nowMs === null) return invalid('metadata.now must be an ISO-8601 instant with an offset', 'metadata.now');
  const data = command.data as { job_id?: unknown } | undefined;
  if (typeof data !== 'object' || data === null || !isNonEmptyString(data.job_id)) {
    return invalid('data.job_id is required', 'job_id');
  }
  if (state.status !== 'initial' && state.job.job_id !== data.job_id) {
    // The shell read the wrong stream: deciding would write one job's events into another's.
    return invalid(`command for job ${data.job_id} decided on the stream of job ${state.job.job_id}`, 'job_id');
  }
  return nowMs;
}

/**
 * The first rule of the command's type that its data breaks, or null. An unknown command type
 * has no rules (the decider refuses it by type).
 */
export function checkCommandData(command: JobCommand, nowMs: number): DecideRefused | null {
  if (!Object.hasOwn(RULES, command.type)) return null;
  for (const rule of RULES[command.type] as readonly Rule<unknown>[]) {
    const error = rule(command.data, nowMs);
    if (error) return error;
  }
  return null;
}

/**
 * The shape of what a dispatch command says about a grant the log must confirm (checked only when
 * the job needs it: an approved job before its first claim), and that it is about this grant.
 */
export function checkGrantCheck(
  check: GrantCheck,
  jobId: string,
  approvalId: string,
): DecideRefused | { readonly mode: GrantSnapshotMode; readonly atGrant: string | null } {
  const mode = check.snapshot_mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'decision') return invalid('snapshot_mode must be strict or decision', 'snapshot_mode');
  const fact = check.grant_fact;
  if (typeof fact !== 'object' || fact === null) {
    return invalid(`job ${jobId} is approved: its grant must be checked against the log before the first claim`, 'grant_fact');
  }
  if (fact.approval_id !== approvalId) {
    return invalid(`the log fact is about approval ${String(fact.approval_id)}, not ${approvalId}`, 'grant_fact.approval_id');
  }
  const atGrant = fact.active_policy_snapshot;
  if (atGrant !== null && !isNonEmptyString(atGrant)) {
    return invalid('active_policy_snapshot must be a snapshot or null', 'grant_fact.active_policy_snapshot');
  }
  return { mode, atGrant };
}
