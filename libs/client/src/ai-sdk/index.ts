/**
 * @signoff/client/ai-sdk: Signoff as the Vercel AI SDK's tool approval (`ai` 7: the `toolApproval`
 * option of `generateText` / `streamText`). Loads nothing of `ai` at run time (types only).
 */
import type { ToolApprovalStatus } from 'ai';
import { askSignoff, type ToolGateOptions, type ToolVerdict } from '@signoff/client';

/** What the approval function reads of the AI SDK's `TypedToolCall` (any tool set). */
export interface ApprovedToolCall {
  readonly toolName: string;
  readonly toolCallId: string;
  readonly input: unknown;
}

export interface SignoffToolApprovalOptions extends ToolGateOptions {
  /** Only these tools go through Signoff (default: every tool call). */
  readonly tools?: readonly string[];
  /** Aborts the waits (the run's abort signal). */
  readonly signal?: AbortSignal;
  /** Called with every verdict (logging, metrics, telling the user). */
  readonly onVerdict?: (verdict: ToolVerdict, toolName: string) => void;
}

/**
 * A `toolApproval` function that asks Signoff about every tool call: the call becomes a job
 * (payload = the input), policy decides, reviewers approve. The AI SDK runs the tool's `execute`
 * only on `approved`, with the input the job was submitted (and approved) with; anything else
 * (denied, rejected, expired, throttled, still pending past `timeoutMs`, approved with changes)
 * is `denied` with Signoff's reason, which the model sees as the tool's denial.
 *
 * ```ts
 * await generateText({ model, tools, prompt, toolApproval: signoffToolApproval({ client }) });
 * ```
 */
export function signoffToolApproval(options: SignoffToolApprovalOptions): (approval: { readonly toolCall: ApprovedToolCall }) => Promise<ToolApprovalStatus> {
  return async ({ toolCall }) => {
    if (options.tools && !options.tools.includes(toolCall.toolName)) return 'not-applicable';
    const verdict = await askSignoff(options, { toolName: toolCall.toolName, callId: toolCall.toolCallId, args: toolCall.input }, options.signal);
    options.onVerdict?.(verdict, toolCall.toolName);
    return verdict.approved ? { type: 'approved', reason: verdict.reason } : { type: 'denied', reason: verdict.reason };
  };
}
