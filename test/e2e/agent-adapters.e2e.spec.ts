import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, Runner, RunState, tool as agentsTool, Usage, type Model, type ModelRequest, type ModelResponse } from '@openai/agents';
import { SignoffClient, toolJobId } from '@signoff/client';
import { signoffToolApproval } from '@signoff/client/ai-sdk';
import { signoffForAgents } from '@signoff/client/openai-agents';
import { generateText, isStepCount, tool as aiTool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { TEST_JWT_SECRET, tokenFor } from '../support/app';
import { ServiceProcess, startApp } from '../support/processes';
import { eventually } from '../support/wait';

const POLICY = 'test/e2e/fixtures/agent-policy.yaml';
const PAYMENT = { to: 'acme', amount: 120 };

/**
 * The agent-framework adapters on the frameworks' real packages, their models replaced by the
 * frameworks' own kind of test double (no network, no API key), deciding against the real
 * standalone: a denied call never runs its `execute`; an approved one runs once, with exactly
 * the arguments the reviewer saw.
 */
describe('agent-framework adapters against the standalone server', () => {
  let dataDir: string;
  let app: ServiceProcess;
  let agentClient: SignoffClient;
  let reviewer: SignoffClient;
  const run = `${Date.now()}`;
  const callId = (name: string) => `call-${name}-${run}`;

  /** Acts as the reviewer: once the tool call's job waits, checks what it asks for and decides. */
  const decide = async (toolName: string, id: string, decision: 'approve' | 'reject', expectedArgs: unknown) => {
    const jobId = toolJobId({ toolName, callId: id });
    await eventually(async () => (await reviewer.get(jobId).catch(() => null))?.state === 'APPROVAL_REQUIRED', `the ${toolName} call to wait for approval`, 20_000);
    const evidence = await reviewer.getApproval(jobId);
    expect((evidence.request as { payload: unknown }).payload).toEqual(expectedArgs);
    if (decision === 'approve') await reviewer.approve(jobId, { reason: 'checked' });
    else await reviewer.reject(jobId, { reason: 'vendor not on the list' });
  };

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-e2e-adapters-'));
    app = await startApp('standalone', { EVENT_STORE_URL: `pglite://${dataDir}`, POLICY_PATH: POLICY, AUTH_JWT_SECRET: TEST_JWT_SECRET, GRPC_PORT: '0' });
    agentClient = new SignoffClient({ baseUrl: app.url, token: await tokenFor('agent-7', ['submitter']) });
    reviewer = new SignoffClient({ baseUrl: app.url, token: await tokenFor('rita', ['reviewer']) });
  });
  afterAll(async () => {
    await app?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('Vercel AI SDK (ai, toolApproval)', () => {
    const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
    /** A model that calls one tool, then answers with text. */
    const model = (toolName: string, id: string, input: unknown) =>
      new MockLanguageModelV4({
        doGenerate: [
          { content: [{ type: 'tool-call', toolCallId: id, toolName, input: JSON.stringify(input) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
          { content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
        ],
      });
    const tools = (execute: (args: unknown) => Promise<unknown>) => ({
      pay: aiTool({ description: 'pay a vendor', inputSchema: z.object({ to: z.string(), amount: z.number() }), execute }),
      delete_data: aiTool({ description: 'delete data', inputSchema: z.object({ table: z.string() }), execute }),
      lookup: aiTool({ description: 'look up', inputSchema: z.object({ q: z.string() }), execute }),
    });

    it('never runs a denied call', async () => {
      const execute = vi.fn(async (_args: unknown) => 'ran');
      const result = await generateText({
        model: model('delete_data', callId('ai-delete'), { table: 'customers' }),
        tools: tools(execute),
        prompt: 'clean up',
        stopWhen: isStepCount(2),
        toolApproval: signoffToolApproval({ client: agentClient, timeoutMs: 30_000 }),
      });
      expect(execute).not.toHaveBeenCalled();
      const denied = result.steps[0].content.find((p) => p.type === 'tool-approval-response');
      expect(denied).toMatchObject({ approved: false });
      expect(JSON.stringify(result.steps[0].content)).toContain('denied by Signoff');
      expect((await agentClient.get(toolJobId({ toolName: 'delete_data', callId: callId('ai-delete') }))).state).toBe('DENIED');
    });

    it('runs an allowed call at once, and an approved one once with exactly the approved arguments', async () => {
      const execute = vi.fn(async (_args: unknown) => 'ok');
      await generateText({ model: model('lookup', callId('ai-lookup'), { q: 'refunds' }), tools: tools(execute), prompt: 'look', stopWhen: isStepCount(2), toolApproval: signoffToolApproval({ client: agentClient }) });
      expect(execute).toHaveBeenCalledTimes(1);
      expect(execute.mock.calls[0][0]).toEqual({ q: 'refunds' });

      // what Signoff says about the job at the moment the tool runs: it must already be approved
      const seenAtRun: unknown[] = [];
      const pay = vi.fn(async (_args: unknown) => {
        seenAtRun.push((await reviewer.get(toolJobId({ toolName: 'pay', callId: callId('ai-pay') }))).approval?.state);
        return 'paid';
      });
      const [result] = await Promise.all([
        generateText({ model: model('pay', callId('ai-pay'), PAYMENT), tools: tools(pay), prompt: 'pay acme', stopWhen: isStepCount(2), toolApproval: signoffToolApproval({ client: agentClient, timeoutMs: 30_000 }) }),
        decide('pay', callId('ai-pay'), 'approve', PAYMENT),
      ]);
      expect(pay).toHaveBeenCalledTimes(1);
      expect(pay.mock.calls[0][0]).toEqual(PAYMENT);
      expect(seenAtRun).toEqual(['approved']);
      expect(result.text).toBe('done');
    });

    it('never runs a call the reviewer rejected, and tells the model why', async () => {
      const pay = vi.fn(async (_args: unknown) => 'paid');
      const verdicts: string[] = [];
      const [result] = await Promise.all([
        generateText({
          model: model('pay', callId('ai-reject'), { to: 'mallory', amount: 5_000 }),
          tools: tools(pay),
          prompt: 'pay mallory',
          stopWhen: isStepCount(2),
          toolApproval: signoffToolApproval({ client: agentClient, timeoutMs: 30_000, onVerdict: (v) => verdicts.push(v.outcome) }),
        }),
        decide('pay', callId('ai-reject'), 'reject', { to: 'mallory', amount: 5_000 }),
      ]);
      expect(pay).not.toHaveBeenCalled();
      expect(verdicts).toEqual(['rejected']);
      expect(JSON.stringify(result.steps[0].content)).toContain('vendor not on the list');
    });
    it('does not run a call approved with changes it did not make, nor any call when Signoff cannot be asked', async () => {
      const pay = vi.fn(async (_args: unknown) => 'paid');
      const verdicts: string[] = [];
      const id = callId('ai-amended');
      const amend = async () => {
        const jobId = toolJobId({ toolName: 'pay', callId: id });
        await eventually(async () => (await reviewer.get(jobId).catch(() => null))?.state === 'APPROVAL_REQUIRED', 'the pay call to wait', 20_000);
        await reviewer.approve(jobId, { reason: 'lower amount', amended_request: { payload: { to: 'acme', amount: 100 } } });
      };
      await Promise.all([
        generateText({ model: model('pay', id, PAYMENT), tools: tools(pay), prompt: 'pay', stopWhen: isStepCount(2), toolApproval: signoffToolApproval({ client: agentClient, timeoutMs: 30_000, onVerdict: (v) => verdicts.push(v.outcome) }) }),
        amend(),
      ]);
      expect(verdicts).toEqual(['approved_with_changes']);
      expect(pay).not.toHaveBeenCalled();

      const unreachable = new SignoffClient({ baseUrl: 'http://127.0.0.1:9', token: 't', retry: { maxAttempts: 1 } });
      const run = generateText({ model: model('pay', callId('ai-down'), PAYMENT), tools: tools(pay), prompt: 'pay', stopWhen: isStepCount(2), toolApproval: signoffToolApproval({ client: unreachable }) });
      await expect(run).rejects.toThrow();
      expect(pay).not.toHaveBeenCalled();
    });
  });

  describe('OpenAI Agents SDK (@openai/agents, needsApproval + RunState)', () => {
    /** A Model of @openai/agents that calls the given tool once, then answers "done". */
    class ScriptedModel implements Model {
      readonly requests: ModelRequest[] = [];
      constructor(
        private readonly toolName: string,
        private readonly id: string,
        private readonly args: unknown,
      ) {}
      async getResponse(request: ModelRequest): Promise<ModelResponse> {
        this.requests.push(request);
        const answered = Array.isArray(request.input) && request.input.some((item) => 'type' in item && item.type === 'function_call_result');
        const output: ModelResponse['output'] = answered
          ? [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }]
          : [{ type: 'function_call', callId: this.id, name: this.toolName, arguments: JSON.stringify(this.args), status: 'completed' }];
        return { usage: new Usage(), output };
      }
      async *getStreamedResponse(): AsyncIterable<never> {
        throw new Error('not streamed in these tests');
      }
    }
    const runner = new Runner({ tracingDisabled: true });
    const agentFor = (model: Model, execute: (args: unknown) => Promise<string>, signoff: ReturnType<typeof signoffForAgents>) =>
      new Agent({
        name: 'payments',
        instructions: 'pay invoices',
        model,
        tools: [
          agentsTool({ name: 'pay', description: 'pay a vendor', parameters: z.object({ to: z.string(), amount: z.number() }), needsApproval: signoff.needsApproval('pay'), execute }),
          agentsTool({ name: 'delete_data', description: 'delete data', parameters: z.object({ table: z.string() }), needsApproval: signoff.needsApproval('delete_data'), execute }),
        ],
      });

    it('never runs a denied call: the run is interrupted, Signoff rejects it, the run resumes without it', async () => {
      const execute = vi.fn(async (_args: unknown) => 'ran');
      const signoff = signoffForAgents({ client: agentClient, timeoutMs: 30_000 });
      const model = new ScriptedModel('delete_data', callId('oa-delete'), { table: 'customers' });
      const result = await signoff.run(runner, agentFor(model, execute, signoff), 'clean up');
      expect(execute).not.toHaveBeenCalled();
      expect(result.finalOutput).toBe('done');
      expect(JSON.stringify(model.requests.at(-1)?.input)).toContain('denied by Signoff');
    });

    it('runs an approved call once with exactly the approved arguments, resuming a state restored from its string', async () => {
      const execute = vi.fn(async (_args: unknown) => 'paid');
      const signoff = signoffForAgents({ client: agentClient, timeoutMs: 30_000 });
      const model = new ScriptedModel('pay', callId('oa-pay'), PAYMENT);
      const agent = agentFor(model, execute, signoff);

      // 1. the run stops at the approval; its state is saved (e.g. the agent process goes away)
      const first = await runner.run(agent, 'pay acme');
      expect(first.interruptions).toHaveLength(1);
      expect(execute).not.toHaveBeenCalled();
      const saved = first.state.toString();

      // 2. the reviewer approves in Signoff; 3. later, the state is restored, decided from Signoff, resumed
      await decide('pay', callId('oa-pay'), 'approve', PAYMENT);
      const state = await RunState.fromString(agent, saved);
      expect(await signoff.resolve(state)).toMatchObject([{ approved: true, outcome: 'approved' }]);
      const resumed = await runner.run(agent, state);
      expect(resumed.finalOutput).toBe('done');
      expect(execute).toHaveBeenCalledTimes(1);
      expect(execute.mock.calls[0][0]).toEqual(PAYMENT);

      // running the saved state again (a retry of the resume) resolves from the same job: still once per run
      expect((await agentClient.get(toolJobId({ toolName: 'pay', callId: callId('oa-pay') }))).approval).toMatchObject({ state: 'approved', approved_by: ['rita'] });
    });

    it('never runs a call the reviewer rejected', async () => {
      const execute = vi.fn(async (_args: unknown) => 'paid');
      const signoff = signoffForAgents({ client: agentClient, timeoutMs: 30_000 });
      const model = new ScriptedModel('pay', callId('oa-reject'), { to: 'mallory', amount: 5_000 });
      const [result] = await Promise.all([signoff.run(runner, agentFor(model, execute, signoff), 'pay mallory'), decide('pay', callId('oa-reject'), 'reject', { to: 'mallory', amount: 5_000 })]);
      expect(execute).not.toHaveBeenCalled();
      expect(result.finalOutput).toBe('done');
      expect(JSON.stringify(model.requests.at(-1)?.input)).toContain('vendor not on the list');
    });
  });
});
