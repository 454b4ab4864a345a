import { createHash } from 'node:crypto';
import type { SubmitAnswer } from './api.types';
import type { DecisionOutcome } from './decision';
import { SignoffApiError } from './signoff-api.error';
import type { SignoffClient } from './signoff.client';

/** One tool call an agent wants to make. */
export interface ToolCall {
  readonly toolName: string;
  /** The framework's id of the call (stable across a resume of the same run). */
  readonly callId: string;
  /** The arguments, exactly as the tool would receive them: the job's payload. */
  readonly args: unknown;
}

/** How tool calls become Signoff jobs. */
export interface ToolGateOptions {
  readonly client: SignoffClient;
  /** The job's topic (default `agent.tool.<toolName>`): what the policy's rules match. */
  readonly topic?: (call: ToolCall) => string;
  /** Labels of the job (e.g. `{env: 'production'}`): policy rules may match them. */
  readonly labels?: Readonly<Record<string, string>> | ((call: ToolCall) => Readonly<Record<string, string>>);
  readonly priority?: string;
  readonly tenant?: string;
  /**
   * The job id of a call (default: `tool-` + 32 hex of SHA-256 over the tool name and call id):
   * the same call submitted again (a resumed run, a retry) is the same job, so one approval
   * answers it and another argument set under the same call id is refused.
   */
  readonly jobId?: (call: ToolCall) => string;
  /** How long to wait for reviewers before answering `pending` (default 10 min). */
  readonly timeoutMs?: number;
  /** Passed to waitForDecision: `dispatch` waits until the dispatcher confirmed the grant too. */
  readonly until?: 'decision' | 'dispatch';
}

/**
 * Signoff's verdict on a tool call. `approved` only when the policy allowed the call, or
 * reviewers approved exactly the submitted arguments (the job hash of the grant is the one of
 * the submission: an approval of an amended request is `approved_with_changes`, not approved).
 */
export interface ToolVerdict {
  readonly approved: boolean;
  readonly outcome: DecisionOutcome | 'throttled' | 'pending' | 'approved_with_changes' | 'request_changed';
  readonly jobId: string;
  /** Why, in a sentence a model or a person can read (the rule, the reviewer's reason). */
  readonly reason: string;
  readonly ruleId?: string | null;
  readonly approvalRef?: string;
  readonly jobHash?: string;
  readonly retryAfterMs?: number | null;
}

/** The default job id of a call: stable, and an id the API accepts whatever the framework's call id holds. */
export function toolJobId(call: Pick<ToolCall, 'toolName' | 'callId'>): string {
  return `tool-${createHash('sha256').update(JSON.stringify([call.toolName, call.callId])).digest('hex').slice(0, 32)}`;
}

/** Submits the call (idempotent under its job id). A refusal of the policy is a verdict, not an error. */
export async function submitToolCall(options: ToolGateOptions, call: ToolCall, signal?: AbortSignal): Promise<SubmitAnswer | ToolVerdict> {
  const jobId = (options.jobId ?? toolJobId)(call);
  const labels = typeof options.labels === 'function' ? options.labels(call) : options.labels;
  try {
    return await options.client.submit(
      {
        job_id: jobId,
        topic: options.topic ? options.topic(call) : `agent.tool.${call.toolName}`,
        ...(labels ? { labels } : {}),
        ...(options.priority ? { priority: options.priority } : {}),
        ...(options.tenant ? { tenant: options.tenant } : {}),
        payload: call.args === undefined ? null : call.args,
      },
      { signal },
    );
  } catch (error) {
    if (!(error instanceof SignoffApiError)) throw error;
    const ruleId = (error.details.rule_id as string | null | undefined) ?? null;
    if (error.code === 'policy_denied') return { approved: false, outcome: 'denied', jobId, ruleId, reason: `denied by Signoff (${ruleId ?? 'default rule'}): ${error.message}` };
    if (error.code === 'throttled') {
      return { approved: false, outcome: 'throttled', jobId, ruleId, retryAfterMs: error.retryAfterMs, reason: `throttled by Signoff (${ruleId}); retry after ${Math.ceil((error.retryAfterMs ?? 0) / 1000)} s` };
    }
    if (error.code === 'job_request_changed') return { approved: false, outcome: 'request_changed', jobId, reason: 'this tool call was already submitted with other arguments' };
    throw error;
  }
}

/** A submitted job, as the submit answer or `GET /jobs/:id` names it. */
export interface SubmittedJob {
  readonly job_id: string;
  readonly job_hash: string;
  readonly rule_id: string | null;
  readonly approval_ref?: string;
}

/**
 * Waits for the decision on a submitted tool call (SSE or polling, up to `timeoutMs`) and says
 * whether exactly the submitted arguments may run.
 */
export async function verdictOfJob(options: ToolGateOptions, job: SubmittedJob, signal?: AbortSignal): Promise<ToolVerdict> {
  const base = { jobId: job.job_id, ruleId: job.rule_id, jobHash: job.job_hash, ...(job.approval_ref ? { approvalRef: job.approval_ref } : {}) };
  let decision;
  try {
    decision = await options.client.waitForDecision(job.job_id, { signal, tenant: options.tenant, timeoutMs: options.timeoutMs ?? 600_000, until: options.until });
  } catch (error) {
    if (error instanceof SignoffApiError && error.code === 'timeout') {
      return { ...base, approved: false, outcome: 'pending', reason: `waiting for a reviewer's approval in Signoff (job ${job.job_id}); not run` };
    }
    throw error;
  }
  const approval = decision.job.approval;
  if (decision.outcome === 'allowed') return { ...base, approved: true, outcome: 'allowed', reason: `allowed by Signoff (${job.rule_id ?? 'default rule'})` };
  if (decision.approved && approval?.approved_job_hash !== undefined && approval.approved_job_hash !== job.job_hash) {
    return { ...base, approved: false, outcome: 'approved_with_changes', reason: 'a reviewer approved changed arguments; this call was not run: call again with the approved arguments' };
  }
  if (decision.approved) return { ...base, approved: true, outcome: 'approved', reason: `approved in Signoff by ${approval?.approved_by?.join(', ') || 'reviewers'}` };
  if (decision.outcome === 'denied') return { ...base, approved: false, outcome: 'denied', reason: `denied by Signoff (${job.rule_id ?? 'default rule'})` };
  const why = approval?.rejection_reason ? `: ${approval.rejection_reason}` : '';
  return { ...base, approved: false, outcome: decision.outcome, reason: `${decision.outcome} in Signoff${approval?.rejected_by ? ` by ${approval.rejected_by}` : ''}${why}` };
}

/**
 * Asks Signoff about one tool call and waits for the answer: submit it as a job (topic, labels,
 * payload = the arguments), then, when reviewers must decide, wait for them. Errors that are not
 * verdicts (the server unreachable, a bad token) reject: an adapter never runs a tool because
 * Signoff could not be asked.
 */
export async function askSignoff(options: ToolGateOptions, call: ToolCall, signal?: AbortSignal): Promise<ToolVerdict> {
  const submitted = await submitToolCall(options, call, signal);
  if (!('status' in submitted)) return submitted;
  if (submitted.status === 'accepted') {
    return { jobId: submitted.job_id, ruleId: submitted.rule_id, jobHash: submitted.job_hash, approved: true, outcome: 'allowed', reason: `allowed by Signoff (${submitted.rule_id ?? 'default rule'})` };
  }
  return verdictOfJob(options, submitted, signal);
}
