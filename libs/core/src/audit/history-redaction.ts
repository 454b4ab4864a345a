import { Inject, Injectable } from '@nestjs/common';
import { approvalOf, type JobView } from '@signoff/approvals';
import type { JobRequest, SignoffEvent } from '@signoff/contracts';
import { redactPaths } from '@signoff/observability';
import type { PolicyBundle } from '@signoff/policy-engine';
import { ActivePolicy } from '../active-policy.service';
import type { ExistingJob } from '../access/job-access';

/** DI token: the redacted request paths of every reader of history (AUDIT_REDACT_FIELDS). */
export const AUDIT_REDACT = Symbol('AUDIT_REDACT');

/**
 * What is redacted of a job whose deciding policy is unknown to the reader (a snapshot no
 * activation in the log holds): everything a rule could have named. Fail closed.
 */
export const UNKNOWN_POLICY_REDACTION: readonly string[] = Object.freeze(['payload', 'labels', 'result']);

/** The policy outcome a job's redaction follows: the deciding rule under the snapshot it was decided by. */
export interface DecidingRule {
  readonly rule_id: string | null;
  readonly policy_snapshot: string;
}

/**
 * The paths to redact in one job's history: the global list (AUDIT_REDACT_FIELDS) plus the
 * `redact` list of the rule that decided the job, under the policy snapshot it was decided by.
 * A job whose snapshot `bundleOf` does not know gets {@link UNKNOWN_POLICY_REDACTION} on top.
 * Paths are relative to the job request (`payload.card_number`, `labels.ssn`) or the worker's
 * result (`result.token`).
 */
export function redactionPathsFor(
  global: readonly string[],
  decided: DecidingRule | null,
  bundleOf: (snapshot: string) => PolicyBundle | null | undefined,
): readonly string[] {
  if (decided === null || decided.rule_id === null) return global;
  const bundle = bundleOf(decided.policy_snapshot);
  if (!bundle) return [...new Set([...global, ...UNKNOWN_POLICY_REDACTION])];
  const rule = bundle.rules.find((r) => r.id === decided.rule_id);
  return rule?.redact?.length ? [...new Set([...global, ...rule.redact])] : global;
}

/** A job request with the paths redacted (a copy; the input is never changed). */
export function redactRequest(request: JobRequest, paths: readonly string[]): JobRequest {
  return redactPaths<JobRequest>(request, paths);
}

/** A worker's result with the `result.*` paths redacted (`result` alone redacts all of it). */
export function redactResult(result: unknown, paths: readonly string[]): unknown {
  const own = paths.filter((p) => p === 'result' || p.startsWith('result.'));
  return own.length === 0 ? result : redactPaths({ result }, own).result;
}

/**
 * The data of a job event with the paths redacted wherever a job request (JobSubmitted, or an
 * amended one in JobAmendmentProposed) or the worker's result (JobCompleted) appears in it. The one redaction of stored events: the audit
 * stream, the CLI's audit export and `GET /jobs/:id/events` all use it.
 */
export function redactEventData(event: SignoffEvent, paths: readonly string[]): unknown {
  if (paths.length === 0) return event.data;
  switch (event.type) {
    case 'JobSubmitted':
    case 'JobAmendmentProposed':
      return { ...event.data, request: redactRequest(event.data.request, paths) };
    case 'JobCompleted':
      return event.data.result === undefined ? event.data : { ...event.data, result: redactResult(event.data.result, paths) };
    default:
      return event.data;
  }
}

/**
 * Redaction for every reader of a job's history inside a service (`GET /jobs/:id`,
 * `GET /jobs/:id/events`, `GET /approvals/:job_id`, the pending list, gRPC GetApproval, ListApprovals
 * and WatchApprovals): the paths of {@link redactionPathsFor}, with the deciding bundle looked up
 * among the activations this instance has read (ActivePolicy's history). The event store keeps the
 * original request, since the job hash is computed over it; only what is shown is redacted.
 */
@Injectable()
export class HistoryRedaction {
  constructor(
    private readonly policy: ActivePolicy,
    @Inject(AUDIT_REDACT) private readonly global: readonly string[],
  ) {}

  /**
   * The paths to redact for a job: of its deciding rule and, when reviewers amended its request
   * (edit before approve), of the rules that decided each amendment too (the union: the original
   * and its amendments are shown to the same readers, so each is redacted as strictly as any).
   */
  pathsFor(job: Pick<ExistingJob, 'evaluation'>): readonly string[] {
    const bundleOf = (snapshot: string) => this.policy.bySnapshot(snapshot)?.bundle;
    const own = redactionPathsFor(this.global, job.evaluation, bundleOf);
    const amendments = 'status' in job ? approvalOf(job as ExistingJob)?.amendments : undefined;
    if (!amendments?.length) return own;
    return [...new Set([...own, ...amendments.flatMap((a) => redactionPathsFor(this.global, a.evaluation, bundleOf))])];
  }

  /** The job's request as readers see it. */
  request(job: ExistingJob): JobRequest {
    return redactRequest(job.job.request, this.pathsFor(job));
  }

  /** The job's events with their data as readers see it. */
  events<E extends SignoffEvent>(events: readonly E[], job: ExistingJob): E[] {
    const paths = this.pathsFor(job);
    return events.map((event) => ({ ...event, data: redactEventData(event, paths) }) as E);
  }

  /** `GET /jobs/:id` as readers see it (the worker's result redacted). */
  jobView(view: JobView, job: ExistingJob): JobView {
    if (view.result?.result === undefined) return view;
    return { ...view, result: { ...view.result, result: redactResult(view.result.result, this.pathsFor(job)) } };
  }
}
