/**
 * @signoff/client/ai-sdk: Signoff as the Vercel AI SDK's tool approval (`ai` 7: the `toolApproval`
 * option of `generateText` / `streamText`). Loads nothing of `ai` at run time (types only).
 */
import type { GenericToolApprovalFunction, ToolApprovalStatus, ToolSet } from 'ai';
import { askSignoff, type ToolGateOptions, type ToolVerdict } from '@signoff/client';

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
export function signoffToolApproval<TOOLS extends ToolSet = ToolSet>(options: SignoffToolApprovalOptions): GenericToolApprovalFunction<TOOLS, never, never> {
  return async ({ toolCall }): Promise<ToolApprovalStatus> => {
    if (options.tools && !options.tools.includes(toolCall.toolName)) return 'not-applicable';
    const verdict = await askSignoff(options, { toolName: toolCall.toolName, callId: toolCall.toolCallId, args: toolCall.input }, options.signal);
    options.onVerdict?.(verdict, toolCall.toolName);
    return verdict.approved ? { type: 'approved', reason: verdict.reason } : { type: 'denied', reason: verdict.reason };
  };
}
