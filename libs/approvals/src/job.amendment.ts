import { isReservedLabel, type ApprovalRequirement, type JobRequest } from '@signoff/contracts';
import { refuse } from './job.decision-kit';
import type { DecideRefused } from './job.outcomes';
import type { Amendment, Approval, ApprovalVote, GrantedApproval, JobFacts } from './job.state';

/*
 * Edit before approve (issue 12 section 5). A reviewer may approve an amended request: the
 * original with another `payload` and/or `labels`. The amendment has its own job hash, the active
 * policy must still allow it or require an approval no stricter than the open one, its votes are
 * counted apart from the original's, and a grant reached by its votes binds its hash, so the job
 * is dispatched (and signed, and checked by the worker) as amended.
 */

/** Fields of the request an amendment may not change (the job's identity and routing). */
export const AMENDMENT_FIXED_FIELDS = ['topic', 'priority', 'tenant', 'submitted_by'] as const;

/**
 * Distinct amendments one approval records at most: each holds a whole request (up to 1 MiB), so
 * the stream stays bounded whatever reviewers send. Voting for a recorded amendment is always possible.
 */
export const MAX_AMENDMENTS = 16;

/** At most this many changed paths are recorded; the last entry then says how many more there were. */
export const MAX_CHANGED_PATHS = 64;

/**
 * What the active policy decided for the amended request. Throttle rules are not consulted: an
 * amendment is not a new submission, so it consumes no throttle slot and a throttle rule counts
 * as under its limit (evaluation continues with the next rule, as in `SNAPSHOT_MODE=decision`).
 */
export type AmendmentEvaluation =
  | { readonly decision: 'allow'; readonly rule_id: string | null; readonly reason: string }
  | { readonly decision: 'deny'; readonly rule_id: string | null; readonly reason: string }
  | { readonly decision: 'require_human'; readonly rule_id: string | null; readonly reason: string; readonly requirement: ApprovalRequirement };

/** The amended request a vote approves, as the shell built and judged it. */
export interface ApproveAmendment {
  /** The normalised amended request (the original's fixed fields, the reviewer's payload/labels). */
  readonly request: JobRequest;
  /** `job_hash` of `request`. */
  readonly job_hash: string;
  /** Under the active policy (`active_policy_snapshot` of the command). */
  readonly evaluation: AmendmentEvaluation;
}

/** The hash a vote approves: an amendment's, or the approval's own. */
export function approvedHashOf(approval: Pick<Approval, 'job_hash'>, vote: ApprovalVote): string {
  return vote.approved_job_hash ?? approval.job_hash;
}

/** The votes for one hash, in the order they were cast. */
export function votesFor(approval: Approval, hash: string): readonly ApprovalVote[] {
  return approval.votes.filter((vote) => approvedHashOf(approval, vote) === hash);
}

/** The amendment of an approval with the given hash, if one was proposed. */
export function amendmentOf(approval: Approval, hash: string): Amendment | null {
  return approval.amendments?.find((a) => a.job_hash === hash) ?? null;
}

/**
 * The request a released job is dispatched with, and its hash: the amendment its grant binds, or
 * the submitted request. Everything a worker receives (the dispatch message, its `job-hash`
 * header, the signed grant) is built from this, so all of them bind the approved request.
 */
export function releasedRequestOf(state: { readonly job: JobFacts; readonly approval: GrantedApproval | null }): {
  readonly request: JobRequest;
  readonly job_hash: string;
} {
  const hash = state.approval?.grant.approved_job_hash;
  const amendment = hash === undefined || state.approval === null ? null : amendmentOf(state.approval, hash);
  return amendment ? { request: amendment.request, job_hash: amendment.job_hash } : { request: state.job.request, job_hash: state.job.job_hash };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pathOf(parent: string, key: string | number): string {
  return typeof key === 'number' ? `${parent}[${key}]` : `${parent}.${key}`;
}

/**
 * The paths at which `amended` differs from `original` in `payload` and `labels`, depth first,
 * at most {@link MAX_CHANGED_PATHS} (then a last `...and N more`). Iterative, so any input that
 * passed validation is walked without recursion; a subtree that changes type is one path.
 */
export function changedPaths(original: JobRequest, amended: JobRequest): string[] {
  const paths: string[] = [];
  let more = 0;
  // A stack pops last first: `payload` is walked before `labels`.
  const stack: [string, unknown, unknown][] = [
    ['labels', original.labels, amended.labels],
    ['payload', original.payload, amended.payload],
  ];
  while (stack.length > 0) {
    const [path, a, b] = stack.pop()!;
    if (Object.is(a, b)) continue;
    const bothArrays = Array.isArray(a) && Array.isArray(b);
    const bothObjects = isPlainObject(a) && isPlainObject(b);
    if (!bothArrays && !bothObjects) {
      if (a === b) continue;
      if (paths.length < MAX_CHANGED_PATHS) paths.push(path);
      else more += 1;
      continue;
    }
    const children: [string, unknown, unknown][] = [];
    if (bothArrays) {
      const length = Math.max(a.length, b.length);
      for (let i = 0; i < length; i += 1) children.push([pathOf(path, i), a[i], b[i]]);
    } else {
      const ao = a as Record<string, unknown>;
      const bo = b as Record<string, unknown>;
      const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort();
      for (const key of keys) {
        const inA = Object.prototype.hasOwnProperty.call(ao, key);
        const inB = Object.prototype.hasOwnProperty.call(bo, key);
        // A member added or removed is a change even when its value is null.
        children.push([pathOf(path, key), inA ? ao[key] : MISSING, inB ? bo[key] : MISSING]);
      }
    }
    // Pushed in reverse so paths come out in key order.
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]);
  }
  if (more > 0) paths.push(`...and ${more} more`);
  return paths;
}
const MISSING = Symbol('missing');

/**
 * Whether the amended request's own approval requirement is no stricter than the open
 * approval's, so the votes the open approval collects are enough for it too: it needs no more
 * reviewers, and everyone eligible under the open approval is eligible under it (it admits any
 * reviewer, or every role the open approval admits). Its timeout does not matter: the open
 * approval's expiry still holds.
 */
export function noStricterThan(amended: ApprovalRequirement, open: ApprovalRequirement): boolean {
  if (amended.required > open.required) return false;
  if (amended.reviewers.length === 0) return true;
  if (open.reviewers.length === 0) return false;
  return open.reviewers.every((role) => amended.reviewers.includes(role));
}

/**
 * The refusal of an amendment, or null when it may be voted for, in this order:
 * 1. `amendment_field_fixed`: topic, priority, tenant or submitter differ from the original's;
 * 2. `reserved_label`: a label name `approval_*` / `signoff.*` (any case or Unicode form): an
 *    approval is never smuggled in by an edit (the shell refuses it first; this is the domain's own check);
 * 3. `too_many_amendments`: a new amendment beyond {@link MAX_AMENDMENTS} (one already recorded may still be voted for);
 * 4. `amendment_denied`: the active policy denies the amended request (with its rule and reason);
 * 5. `amendment_needs_new_approval`: it requires an approval stricter than the open one
 *    ({@link noStricterThan}); submit it as a new job instead.
 */
export function checkAmendment(original: JobRequest, approval: Approval, amendment: ApproveAmendment): DecideRefused | null {
  const { request, evaluation } = amendment;
  for (const field of AMENDMENT_FIXED_FIELDS) {
    if (request[field] !== original[field]) {
      return refuse('amendment_field_fixed', `an amendment may change payload and labels only, not ${field}`, { field: `amended_request.${field}` });
    }
  }
  const reserved = Object.keys(request.labels).filter((name) => isReservedLabel(name));
  if (reserved.length > 0) {
    return refuse('reserved_label', `label names approval_* and signoff.* are reserved: ${reserved.join(', ')}`, { labels: reserved });
  }
  if (amendmentOf(approval, amendment.job_hash) === null && (approval.amendments?.length ?? 0) >= MAX_AMENDMENTS) {
    return refuse('too_many_amendments', `the approval already records ${MAX_AMENDMENTS} amendments: approve one of them, or reject and submit anew`, { max: MAX_AMENDMENTS });
  }
  switch (evaluation.decision) {
    case 'deny':
      return refuse('amendment_denied', evaluation.reason || `the active policy denies the amended request (${evaluation.rule_id ?? 'default decision'})`, {
        rule_id: evaluation.rule_id,
        reason: evaluation.reason,
        amendment_hash: amendment.job_hash,
      });
    case 'require_human':
      if (!noStricterThan(evaluation.requirement, approval.requirement)) {
        return refuse('amendment_needs_new_approval', 'the amended request requires a stricter approval than the open one; submit it as a new job', {
          rule_id: evaluation.rule_id,
          required: evaluation.requirement.required,
          reviewers: evaluation.requirement.reviewers,
          open_required: approval.requirement.required,
          open_reviewers: approval.requirement.reviewers,
        });
      }
      return null;
    case 'allow':
      return null;
    default: {
      const _exhaustive: never = evaluation;
      return null;
    }
  }
}
