/*
 * The pure part of a held tool call: what a job's state means for the waiting client, when a
 * held call answers `approval_pending`, what a resume reference must look like, and the MCP
 * results the gateway answers with. No I/O: the handler (call-tool.handler.ts) reads the job and
 * the clock and asks these functions.
 */

/** What the gateway reads of `GET /api/v1/jobs/:id` (DESIGN section 4). */
export interface JobSnapshot {
  readonly job_id: string;
  readonly topic: string;
  readonly state: string;
  readonly rule_id: string | null;
  readonly job_hash: string;
  readonly approval?: {
    readonly approval_ref: string;
    readonly state: string;
    readonly expires_at: string;
    readonly rejection_reason?: string;
    readonly approved_job_hash?: string;
  };
  readonly dispatch?: { readonly abandoned?: { readonly reason: string } };
  readonly result?: { readonly status: string; readonly result?: unknown; readonly error?: string; readonly unknown_reason?: string };
}

/** Codes of the refusals and typed answers the gateway gives in a tool result's `_meta["signoff/error"].code`. */
export type GatewayCode =
  | 'policy_denied'
  | 'throttled'
  | 'approval_pending'
  | 'approval_rejected'
  | 'approval_expired'
  | 'approval_invalidated'
  | 'job_request_changed'
  | 'tool_failed'
  | 'outcome_unknown'
  | 'result_pending'
  | 'unknown_tool'
  | 'invalid_arguments'
  | 'arguments_too_large'
  | 'invalid_approval_ref'
  | 'unknown_approval_ref'
  | 'signoff_unavailable'
  | 'forbidden'
  | 'unauthenticated'
  | 'invalid_request';

export type CallStep =
  | { readonly kind: 'awaiting_approval' }
  | { readonly kind: 'awaiting_result' }
  | { readonly kind: 'succeeded'; readonly result: unknown }
  | { readonly kind: 'refused'; readonly code: GatewayCode; readonly message: string };

/** What a job's state means for its call (the job lifecycle of DESIGN section 2). */
export function stepOf(job: JobSnapshot): CallStep {
  switch (job.state) {
    case 'APPROVAL_REQUIRED':
      return { kind: 'awaiting_approval' };
    case 'PENDING':
    case 'DISPATCHED':
    case 'RUNNING':
      return { kind: 'awaiting_result' };
    case 'SUCCEEDED':
      return { kind: 'succeeded', result: job.result?.result };
    case 'FAILED':
      return { kind: 'refused', code: 'tool_failed', message: job.result?.error ?? job.dispatch?.abandoned?.reason ?? 'the tool call failed' };
    case 'UNKNOWN':
      return {
        kind: 'refused',
        code: 'outcome_unknown',
        message: `whether the tool ran is unknown (${job.result?.unknown_reason ?? 'the gateway running it lost its claim'}); an operator resolves it, it is never run again`,
      };
    case 'DENIED':
      return { kind: 'refused', code: 'policy_denied', message: `denied by ${job.rule_id ?? 'the default decision'}` };
    case 'REJECTED':
      return { kind: 'refused', code: 'approval_rejected', message: `a reviewer rejected the call${job.approval?.rejection_reason ? `: ${job.approval.rejection_reason}` : ''}` };
    case 'EXPIRED':
      return { kind: 'refused', code: 'approval_expired', message: `nobody approved the call before ${job.approval?.expires_at ?? 'its expiry'}` };
    case 'INVALIDATED':
      return { kind: 'refused', code: 'approval_invalidated', message: 'the approval was voided (the policy changed): call again to ask anew' };
    default:
      return { kind: 'refused', code: 'outcome_unknown', message: `the job is in a state the gateway does not know (${job.state})` };
  }
}

/** While a call is held: keep waiting, or answer now (`approval_pending` / `result_pending`) because the hold bound passed. */
export function holdAction(step: CallStep, elapsedMs: number, holdMs: number): 'wait' | 'answer' {
  if (step.kind === 'succeeded' || step.kind === 'refused') return 'answer';
  return elapsedMs >= holdMs ? 'answer' : 'wait';
}

/** How long to sleep before reading the job again: short while a result is due, longer while a human decides. */
export function pollDelayMs(step: CallStep, polls: number): number {
  if (step.kind === 'awaiting_result') return Math.min(20 * 2 ** Math.min(polls, 4), 250);
  return Math.min(200 * 2 ** Math.min(polls, 3), 1000);
}

/** The `_meta` key a client sends an approval reference back in. */
export const APPROVAL_REF_META = 'signoff/approval_ref';
/** The gateway's job ids, which are the approval references it hands out: `mcp-` + 32 hex digits. */
export const GATEWAY_JOB_ID = /^mcp-[0-9a-f]{32}$/;

/** The approval reference of a call's `_meta`: absent, well formed, or refused before anything is read. */
export function approvalRefOf(meta: unknown): { readonly ref: string | null } | { readonly problem: string } {
  if (meta === null || typeof meta !== 'object') return { ref: null };
  const raw = (meta as Record<string, unknown>)[APPROVAL_REF_META];
  if (raw === undefined) return { ref: null };
  if (typeof raw !== 'string' || !GATEWAY_JOB_ID.test(raw)) return { problem: `_meta["${APPROVAL_REF_META}"] must be an approval_ref this gateway handed out (mcp- and 32 hex digits)` };
  return { ref: raw };
}

/** An MCP CallToolResult (the fields the gateway sets). */
export interface ToolResult {
  [key: string]: unknown;
  readonly content: readonly { readonly type: 'text'; readonly text: string }[];
  readonly isError?: boolean;
  readonly _meta?: Record<string, unknown>;
}

/** A refusal as a tool error: the code, a sentence, and the details in `_meta["signoff/error"]`. */
export function refusalResult(code: GatewayCode, message: string, details: Record<string, unknown> = {}): ToolResult {
  return {
    content: [{ type: 'text', text: `Signoff: ${code}: ${message}` }],
    isError: true,
    _meta: { 'signoff/error': { code, message, ...details } },
  };
}

/** What a held call answers once its hold bound passed: the reference to retry with, its expiry and the arguments' hash. */
export interface PendingAnswer {
  readonly code: 'approval_pending' | 'result_pending';
  readonly approval_ref: string;
  readonly expires_at: string | null;
  readonly args_hash: string;
  readonly topic: string;
  readonly rule_id: string | null;
  readonly review_ref: string | null;
}

export function pendingResult(p: PendingAnswer): ToolResult {
  const what =
    p.code === 'approval_pending'
      ? `this call waits for human approval (rule ${p.rule_id ?? 'default'}) until ${p.expires_at ?? 'its expiry'}`
      : 'this call was approved and is running';
  return {
    content: [
      {
        type: 'text',
        text: `Signoff: ${p.code}: ${what}. Call the same tool again with the same arguments and _meta {"${APPROVAL_REF_META}": "${p.approval_ref}"} to get its result (args_hash ${p.args_hash}).`,
      },
    ],
    isError: true,
    _meta: { 'signoff/error': { code: p.code, message: what }, 'signoff/approval': { status: p.code === 'approval_pending' ? 'pending' : 'running', ...p } },
  };
}

/** Progress while held: the reference travels with the first notification, so a client that loses the connection can still resume. */
export function progressMessage(p: Omit<PendingAnswer, 'code'>, elapsedMs: number): string {
  return `waiting for approval (rule ${p.rule_id ?? 'default'}, ${Math.round(elapsedMs / 1000)} s): approval_ref ${p.approval_ref}, expires ${p.expires_at ?? 'unknown'}`;
}

/** The upstream's result as stored on the job, with the job named in `_meta["signoff/job"]`. */
export function succeededResult(stored: unknown, job: { readonly job_id: string; readonly topic: string; readonly decision: string; readonly args_hash: string; readonly amended?: true }): ToolResult {
  const result = stored !== null && typeof stored === 'object' && Array.isArray((stored as ToolResult).content) ? (stored as ToolResult) : { content: [{ type: 'text' as const, text: JSON.stringify(stored ?? null) }] };
  return { ...result, _meta: { ...(result._meta ?? {}), 'signoff/job': job } };
}
