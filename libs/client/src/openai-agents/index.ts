/**
 * @signoff/client/openai-agents: Signoff as the OpenAI Agents SDK's tool approval
 * (`@openai/agents`: a tool's `needsApproval`, the run's interruptions, `RunState.approve` /
 * `reject`, resume by running again with the state). Loads nothing of the framework at run time
 * (types only); `run` takes your Runner.
 */
import type { Agent, RunResult, RunState, RunToolApprovalItem } from '@openai/agents';
import { askSignoff, SignoffApiError, submitToolCall, toolJobId, verdictOfJob, type ToolCall, type ToolGateOptions, type ToolVerdict } from '@signoff/client';

// The framework's own bounds (`Agent<any, any>` is how @openai/agents types "any agent").
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyAgent = Agent<any, any>;
type AnyRunResult = RunResult<unknown, AnyAgent>;
type AnyRunState = RunState<unknown, AnyAgent>;

export interface SignoffAgentsOptions extends ToolGateOptions {
  /** Aborts the waits. */
  readonly signal?: AbortSignal;
  /** Called with every verdict on an interrupted call. */
  readonly onVerdict?: (verdict: ToolVerdict, item: RunToolApprovalItem) => void;
}

/** What runs an agent: a `Runner` of `@openai/agents` (or `{ run }` from the package). */
export interface AgentRunner {
  run<TAgent extends AnyAgent, TContext>(agent: TAgent, input: string | RunState<TContext, TAgent>): Promise<RunResult<TContext, TAgent>>;
}

/**
 * Signoff for one agent setup:
 * - `needsApproval(toolName)`: the tool's `needsApproval`. Submits the call as a job; `false`
 *   (run now) only when the policy allows it, `true` otherwise, which interrupts the run.
 * - `resolve(result)`: for each interruption, waits for Signoff's decision and approves or
 *   rejects it on `result.state` (with Signoff's reason as the message the model sees).
 * - `run(runner, agent, input)`: runs, resolves the interruptions, resumes with the state, until
 *   the run ends.
 * A call re-submitted with other arguments under the same call id (a changed resumed state) is
 * refused: `needsApproval` throws `job_request_changed` and the run fails closed.
 */
export function signoffForAgents(options: SignoffAgentsOptions) {
  return {
    needsApproval(toolName: string) {
      return async (_context: unknown, input: unknown, callId?: string): Promise<boolean> => {
        const call = { toolName, callId: callId ?? JSON.stringify(input), args: input };
        const answer = await submitToolCall(options, call, options.signal);
        if ('status' in answer) return answer.status !== 'accepted';
        if (answer.outcome === 'request_changed') throw new SignoffApiError('job_request_changed', `${toolName}: ${answer.reason}`, 409, { job_id: answer.jobId });
        return true; // denied or throttled: interrupt, and `resolve` rejects it
      };
    },

    /**
     * Decides every interruption from Signoff, approving or rejecting it on the run's state;
     * resolves with the verdicts. Takes the interrupted result, or a state restored with
     * `RunState.fromString` (another process resuming later); then run again with the state.
     */
    async resolve(interrupted: AnyRunResult | AnyRunState): Promise<ToolVerdict[]> {
      const state = 'getInterruptions' in interrupted ? interrupted : interrupted.state;
      const verdicts: ToolVerdict[] = [];
      for (const item of state.getInterruptions()) {
        const callId = 'callId' in item.rawItem && typeof item.rawItem.callId === 'string' ? item.rawItem.callId : (item.rawItem.id ?? '');
        const toolName = item.name ?? 'unknown';
        let args: unknown = null;
        try {
          args = item.arguments === undefined ? null : JSON.parse(item.arguments);
        } catch {
          args = item.arguments;
        }
        const verdict = await verdictFor(options, { toolName, callId, args });
        options.onVerdict?.(verdict, item);
        if (verdict.approved) state.approve(item);
        else state.reject(item, { message: verdict.reason });
        verdicts.push(verdict);
      }
      return verdicts;
    },

    /** Runs `agent` on `input`, letting Signoff decide every interruption, until the run ends (at most `maxTurns` resumes, default 20). */
    async run<TAgent extends AnyAgent>(runner: AgentRunner, agent: TAgent, input: string, maxTurns = 20): Promise<RunResult<unknown, TAgent>> {
      let result = await runner.run<TAgent, unknown>(agent, input);
      for (let turn = 0; result.interruptions.length > 0; turn++) {
        if (turn >= maxTurns) throw new SignoffApiError('invalid_response', `the run was still interrupted after ${maxTurns} resumes`);
        await this.resolve(result);
        result = await runner.run<TAgent, unknown>(agent, result.state);
      }
      return result;
    },
  };
}

/**
 * The decision on an interrupted call: on the job `needsApproval` submitted (its normalized
 * input, whatever the raw arguments look like), else (never stored: throttled) asked again.
 */
async function verdictFor(options: SignoffAgentsOptions, call: ToolCall): Promise<ToolVerdict> {
  const jobId = (options.jobId ?? toolJobId)(call);
  try {
    const job = await options.client.get(jobId, { tenant: options.tenant, signal: options.signal });
    return verdictOfJob(options, { job_id: job.job_id, job_hash: job.job_hash, rule_id: job.rule_id, approval_ref: job.approval?.approval_ref }, options.signal);
  } catch (error) {
    if (!(error instanceof SignoffApiError && error.code === 'not_found')) throw error;
    return askSignoff(options, call, options.signal);
  }
}
