import { randomBytes } from 'node:crypto';
import { defaultTenantOf, Principal } from '@signoff/runtime';
import type { Counter } from 'prom-client';
import { GatewayJobRequest, GatewaySubmitAnswer, SignoffApi, SignoffCallError } from '../signoff/signoff-api.port';
import type { ToolCatalog } from '../tools/tool-catalog';
import { SERVER_LABEL, showName, TOOL_LABEL } from '../tools/tool-mapping';
import type { LocalOutcome, LocalOutcomes } from '../worker/local-outcomes';
import {
  approvalRefOf,
  CallStep,
  GatewayCode,
  holdAction,
  JobSnapshot,
  PendingAnswer,
  pendingResult,
  pollDelayMs,
  progressMessage,
  refusalResult,
  stepOf,
  succeededResult,
  ToolResult,
} from './call-step';
import { argsHash, argumentsProblem, normalizedArguments } from './tool-arguments';

/** What a call knows of its MCP request. */
export interface CallContext {
  /** The client's bearer token: every Signoff call is made with it. */
  readonly token: string;
  readonly principal: Principal;
  /** Sends a progress notification (only set when the client sent a progressToken). */
  readonly progress?: (progress: number, message: string, meta: Record<string, unknown>) => Promise<void>;
  /** Fires when the client cancels the call or goes away. */
  readonly signal: AbortSignal;
}

export interface CallToolHandlerOptions {
  readonly signoff: SignoffApi;
  readonly catalog: ToolCatalog;
  readonly outcomes: LocalOutcomes;
  /** How long a call is held open waiting for an approval or a result before the typed pending answer. */
  readonly holdMs: number;
  /** The interval of progress notifications while held. */
  readonly progressMs: number;
  readonly calls?: Counter<'outcome'>;
  readonly now?: () => number;
}

/** A new job id, which is also the approval reference the client may resume with. */
export function newGatewayJobId(): string {
  return `mcp-${randomBytes(16).toString('hex')}`;
}

/** The Signoff refusals a submit may answer, as gateway codes (the rest pass through as they are). */
function refusalOfSubmit(error: SignoffCallError): ToolResult {
  const details: Record<string, unknown> = { ...error.details, status: error.status };
  if (error.code === 'throttled') {
    const seconds = error.retryAfterMs !== null ? Math.ceil(error.retryAfterMs / 1000) : (error.details.retry_after as number | undefined);
    return refusalResult('throttled', `${error.message}; retry after ${seconds ?? '?'} s`, { ...details, retry_after_seconds: seconds ?? null });
  }
  const known: readonly string[] = ['policy_denied', 'job_request_changed', 'forbidden', 'unauthenticated', 'invalid_request', 'signoff_unavailable'];
  const code = (known.includes(error.code) ? error.code : error.status >= 500 || error.status === 0 ? 'signoff_unavailable' : 'invalid_request') as GatewayCode;
  return refusalResult(code, error.message, { ...details, signoff_code: error.code });
}

/**
 * `tools/call` through Signoff, the use case's one entry:
 * 1. the exposed name resolves to an upstream tool (else `unknown_tool`), the arguments are a
 *    storable JSON object (else `invalid_arguments` / `arguments_too_large`), a resume reference
 *    in `_meta["signoff/approval_ref"]` is well formed (else `invalid_approval_ref`);
 * 2. the call becomes a job: `job_id` = the reference (resume) or a new `mcp-<hex>`, topic of the
 *    tool, payload = the arguments, labels naming the upstream and the tool, submitted with the
 *    client's own token (Signoff sees the agent as the submitter, its tenant from the token). A
 *    resume of a reference the caller cannot read is `unknown_approval_ref`; the same reference
 *    with other arguments is refused by Signoff (`job_request_changed`);
 * 3. deny / throttle answer a tool error with the rule and reason (and the Retry-After);
 * 4. otherwise the call waits on the job's state (polling `GET /jobs/:id`, and this instance's
 *    worker hands over an outcome it produced at once): progress notifications while a human
 *    decides (when the client sent a progressToken; the first names the approval reference), the
 *    stored result once the job SUCCEEDED, a tool error with the code of any other end; past the
 *    hold bound, the typed `approval_pending` / `result_pending` answer with the reference.
 * The upstream is never called from here: only the worker calls it, once per approved job.
 */
export class CallToolHandler {
  private readonly now: () => number;

  constructor(private readonly options: CallToolHandlerOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  async handle(name: string, args: unknown, meta: unknown, context: CallContext): Promise<ToolResult> {
    const result = await this.run(name, args, meta, context);
    const code = (result._meta?.['signoff/error'] as { code?: string } | undefined)?.code ?? 'succeeded';
    this.options.calls?.inc({ outcome: code });
    return result;
  }

  private async run(name: string, args: unknown, meta: unknown, context: CallContext): Promise<ToolResult> {
    // 1. What is called, with what.
    const tool = await this.options.catalog.byName(name).catch(() => null);
    if (!tool) return refusalResult('unknown_tool', `no tool ${showName(name)} behind this gateway`);
    const problem = argumentsProblem(args);
    if (problem) return refusalResult(problem.code, problem.message);
    const ref = approvalRefOf(meta);
    if ('problem' in ref) return refusalResult('invalid_approval_ref', ref.problem);
    const tenant = defaultTenantOf(context.principal);
    const payload = normalizedArguments(args);
    const hash = argsHash(payload);
    const request: GatewayJobRequest = {
      job_id: ref.ref ?? newGatewayJobId(),
      topic: tool.topic,
      tenant,
      labels: { [SERVER_LABEL]: tool.server, [TOOL_LABEL]: tool.tool },
      payload,
    };
    const { signoff } = this.options;
    // 2. The job: a resume must name a job the caller can read (404 otherwise, whoever's it is).
    let answer: GatewaySubmitAnswer;
    try {
      if (ref.ref !== null && (await signoff.getJob(context.token, ref.ref, tenant, context.signal)) === null) {
        return refusalResult('unknown_approval_ref', `no call ${ref.ref} of yours is known to Signoff`);
      }
      answer = await signoff.submit(context.token, request, context.signal);
    } catch (error) {
      // 3. Deny, throttle, a changed request, anything else Signoff refused.
      if (error instanceof SignoffCallError) return refusalOfSubmit(error);
      throw error;
    }
    // 4. Wait for the decision and the outcome.
    return this.await(request, answer, hash, context);
  }

  private async await(request: GatewayJobRequest, answer: GatewaySubmitAnswer, hash: string, context: CallContext): Promise<ToolResult> {
    const { signoff, outcomes, holdMs, progressMs } = this.options;
    const started = this.now();
    const local = outcomes.wait(request.tenant, request.job_id);
    const job = { job_id: request.job_id, topic: request.topic, decision: answer.status === 'accepted' ? 'allow' : 'approved', args_hash: hash };
    const fromLocal = (o: LocalOutcome): ToolResult =>
      o.ok ? succeededResult(o.result, { ...job, ...(o.args_hash !== hash ? { amended: true } : {}) }) : refusalResult('tool_failed', o.error, { job_id: request.job_id, topic: request.topic });
    const settled: { outcome: LocalOutcome | null } = { outcome: null };
    void local.outcome.then((o) => (settled.outcome = o));
    let lastProgress = -Infinity;
    let progressCount = 0;
    try {
      let step: CallStep = answer.status === 'accepted' ? { kind: 'awaiting_result' } : { kind: 'awaiting_approval' };
      let snapshot: JobSnapshot | null = null;
      for (let polls = 0; ; polls++) {
        if (settled.outcome) return fromLocal(settled.outcome);
        // An allowed call's first read waits a little (its result is rarely there at once); a held call reads at once (its expiry).
        if (polls > 0 || answer.status === 'approval_required') {
          snapshot = await signoff.getJob(context.token, request.job_id, request.tenant, context.signal).catch((error: unknown) => {
            if (context.signal.aborted) throw error;
            return snapshot; // a failed read: wait and read again, bounded by the hold
          });
          if (snapshot) step = stepOf(snapshot);
        }
        if (settled.outcome) return fromLocal(settled.outcome);
        if (step.kind === 'succeeded') return succeededResult(step.result, { ...job, ...(snapshot?.approval?.approved_job_hash ? { amended: true } : {}) });
        if (step.kind === 'refused') return refusalResult(step.code, step.message, { job_id: request.job_id, topic: request.topic, rule_id: snapshot?.rule_id ?? answer.rule_id });
        const elapsed = this.now() - started;
        const pending: Omit<PendingAnswer, 'code'> = {
          approval_ref: request.job_id,
          expires_at: snapshot?.approval?.expires_at ?? null,
          args_hash: hash,
          topic: request.topic,
          rule_id: snapshot?.rule_id ?? answer.rule_id,
          review_ref: answer.status === 'approval_required' ? answer.approval_ref : (snapshot?.approval?.approval_ref ?? null),
        };
        if (holdAction(step, elapsed, holdMs) === 'answer') {
          return pendingResult({ ...pending, code: step.kind === 'awaiting_approval' ? 'approval_pending' : 'result_pending' });
        }
        if (context.progress && step.kind === 'awaiting_approval' && elapsed - lastProgress >= progressMs) {
          lastProgress = elapsed;
          progressCount += 1;
          await context.progress(progressCount, progressMessage(pending, elapsed), { 'signoff/approval': { status: 'pending', ...pending } }).catch(() => undefined);
        }
        const delay = Math.min(pollDelayMs(step, polls), Math.max(0, holdMs - elapsed), step.kind === 'awaiting_approval' && context.progress ? progressMs : Infinity);
        await sleep(delay, local.outcome, context.signal);
        if (context.signal.aborted) return pendingResult({ ...pending, code: step.kind === 'awaiting_approval' ? 'approval_pending' : 'result_pending' });
      }
    } catch (error) {
      if (error instanceof SignoffCallError) return refusalResult('signoff_unavailable', error.message, { job_id: request.job_id, approval_ref: request.job_id });
      throw error;
    } finally {
      local.stop();
    }
  }
}

/** Sleeps `ms`, or less when the local outcome arrives or the call is cancelled. */
function sleep(ms: number, outcome: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    void outcome.then(done);
  });
}
