import type { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { GatewayDryRun, GatewayJobRequest, GatewaySubmitAnswer, SignoffApi, SignoffCallError } from '../signoff/signoff-api.port';
import type { ToolCatalog } from '../tools/tool-catalog';
import { LocalOutcomes } from '../worker/local-outcomes';
import { APPROVAL_REF_META, JobSnapshot } from './call-step';
import { CallToolHandler } from './call-tool.handler';
import { argsHash } from './tool-arguments';

/** The Signoff API as an in-memory table of jobs the test moves along (the port's contract, no HTTP). */
class FakeSignoff extends SignoffApi {
  readonly jobs = new Map<string, JobSnapshot>();
  readonly submitted: GatewayJobRequest[] = [];
  answer: (r: GatewayJobRequest) => GatewaySubmitAnswer = (r) => ({ status: 'accepted', job_id: r.job_id, rule_id: 'allow-rule', job_hash: 'sha256:h' });
  async submit(_token: string, request: GatewayJobRequest): Promise<GatewaySubmitAnswer> {
    this.submitted.push(request);
    const answer = this.answer(request);
    if (!this.jobs.has(request.job_id)) {
      this.jobs.set(request.job_id, {
        job_id: request.job_id,
        topic: request.topic,
        state: answer.status === 'accepted' ? 'PENDING' : 'APPROVAL_REQUIRED',
        rule_id: answer.rule_id,
        job_hash: answer.job_hash,
        ...(answer.status === 'approval_required' ? { approval: { approval_ref: answer.approval_ref, state: 'pending', expires_at: '2026-12-03T00:00:00.000Z' } } : {}),
      });
    }
    return answer;
  }
  async getJob(_token: string, jobId: string): Promise<JobSnapshot | null> {
    return this.jobs.get(jobId) ?? null;
  }
  async evaluate(): Promise<GatewayDryRun> {
    return { decision: 'allow', rule_id: null, reason: '' };
  }
}

const tool = { server: 'files', tool: 'send_payment', name: 'files__send_payment', topic: 'mcp.files.send_payment', definition: { name: 'send_payment', inputSchema: { type: 'object' as const } } };
const catalog = { byName: async (name: string) => (name === tool.name ? tool : null) } as unknown as ToolCatalog;
const principal: Principal = { sub: 'agent-1', roles: new Set(['submitter']), topics: null, tenants: ['t1'] };

function setup(holdMs = 400) {
  const signoff = new FakeSignoff();
  const outcomes = new LocalOutcomes();
  const handler = new CallToolHandler({ signoff, catalog, outcomes, holdMs, progressMs: 50 });
  const progress: { n: number; message: string; meta: Record<string, unknown> }[] = [];
  const context = { token: 'tok', principal, signal: new AbortController().signal, progress: async (n: number, message: string, meta: Record<string, unknown>) => void progress.push({ n, message, meta }) };
  return { signoff, outcomes, handler, progress, context };
}

describe('CallToolHandler: a tools/call through Signoff', () => {
  it('submits the call as a job of the tool\'s topic, the arguments as payload, the tenant of the token', async () => {
    const { signoff, outcomes, handler, context } = setup();
    const pending = handler.handle(tool.name, { amount: 5, to: 'bob' }, undefined, context);
    await new Promise((r) => setTimeout(r, 20));
    const request = signoff.submitted[0];
    expect(request).toMatchObject({ topic: 'mcp.files.send_payment', tenant: 't1', labels: { 'mcp.server': 'files', 'mcp.tool': 'send_payment' }, payload: { amount: 5, to: 'bob' } });
    expect(request.job_id).toMatch(/^mcp-[0-9a-f]{32}$/);
    // The worker on this instance ran it: the call answers with that result at once.
    outcomes.publish('t1', request.job_id, { ok: true, result: { content: [{ type: 'text', text: 'paid' }] }, args_hash: argsHash({ amount: 5, to: 'bob' }) });
    const answer = await pending;
    expect(answer).toMatchObject({ content: [{ type: 'text', text: 'paid' }], _meta: { 'signoff/job': { job_id: request.job_id, decision: 'allow' } } });
    expect((answer._meta?.['signoff/job'] as { amended?: boolean }).amended).toBeUndefined();
  });

  it('answers with the stored result when another instance ran it (read from the job)', async () => {
    const { signoff, handler, context } = setup();
    const pending = handler.handle(tool.name, { amount: 5 }, undefined, context);
    await new Promise((r) => setTimeout(r, 20));
    const id = signoff.submitted[0].job_id;
    signoff.jobs.set(id, { ...signoff.jobs.get(id)!, state: 'SUCCEEDED', result: { status: 'succeeded', result: { content: [{ type: 'text', text: 'elsewhere' }] } } });
    expect((await pending).content).toEqual([{ type: 'text', text: 'elsewhere' }]);
  });

  it('holds a call that needs approval: progress naming the reference, then approval_pending with ref, expiry and args hash', async () => {
    const { signoff, handler, progress, context } = setup(300);
    signoff.answer = (r) => ({ status: 'approval_required', job_id: r.job_id, rule_id: 'needs-human', job_hash: 'sha256:h', approval_ref: 'apr_1' });
    const started = Date.now();
    const result = await handler.handle(tool.name, { amount: 5, to: 'bob' }, undefined, context);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const id = signoff.submitted[0].job_id;
    expect(result.isError).toBe(true);
    expect(result._meta?.['signoff/approval']).toMatchObject({ code: 'approval_pending', approval_ref: id, expires_at: '2026-12-03T00:00:00.000Z', rule_id: 'needs-human', review_ref: 'apr_1' });
    expect((result._meta?.['signoff/approval'] as { args_hash: string }).args_hash).toMatch(/^sha256:/);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0].message).toContain(id);
    expect(progress[0].meta['signoff/approval']).toMatchObject({ approval_ref: id });
    expect(progress.map((p) => p.n)).toEqual(progress.map((_p, i) => i + 1));
  });

  it('resumes with the reference: the same job id is submitted again and its stored result answered', async () => {
    const { signoff, handler, context } = setup();
    const id = `mcp-${'b'.repeat(32)}`;
    signoff.jobs.set(id, { job_id: id, topic: tool.topic, state: 'SUCCEEDED', rule_id: 'r', job_hash: 'h', result: { status: 'succeeded', result: { content: [{ type: 'text', text: 'once' }] } } });
    signoff.answer = (r) => ({ status: 'approval_required', job_id: r.job_id, rule_id: 'r', job_hash: 'h', approval_ref: 'apr' });
    const result = await handler.handle(tool.name, { amount: 5 }, { [APPROVAL_REF_META]: id }, context);
    expect(signoff.submitted[0].job_id).toBe(id);
    expect(result.content).toEqual([{ type: 'text', text: 'once' }]);
  });

  it('refuses a reference the caller cannot read (unknown, or someone else\'s: Signoff answers 404) without submitting', async () => {
    const { signoff, handler, context } = setup();
    const result = await handler.handle(tool.name, {}, { [APPROVAL_REF_META]: `mcp-${'c'.repeat(32)}` }, context);
    expect(result._meta?.['signoff/error']).toMatchObject({ code: 'unknown_approval_ref' });
    expect(signoff.submitted).toEqual([]);
  });

  it('refuses a forged reference and hostile arguments before anything reaches Signoff', async () => {
    const { signoff, handler, context } = setup();
    expect((await handler.handle(tool.name, {}, { [APPROVAL_REF_META]: '../x' }, context))._meta?.['signoff/error']).toMatchObject({ code: 'invalid_approval_ref' });
    expect((await handler.handle(tool.name, { a: 'x\u0000' }, undefined, context))._meta?.['signoff/error']).toMatchObject({ code: 'invalid_arguments' });
    expect((await handler.handle('files__nope', {}, undefined, context))._meta?.['signoff/error']).toMatchObject({ code: 'unknown_tool' });
    expect(signoff.submitted).toEqual([]);
  });

  it('maps a throttle to a tool error with its Retry-After, a denial with its rule', async () => {
    const { signoff, handler, context } = setup();
    signoff.submit = async () => {
      throw new SignoffCallError('throttled', 'rate limit of rule burst exceeded', 429, { rule_id: 'burst' }, 60_000);
    };
    expect((await handler.handle(tool.name, {}, undefined, context))._meta?.['signoff/error']).toMatchObject({ code: 'throttled', rule_id: 'burst', retry_after_seconds: 60 });
    signoff.submit = async () => {
      throw new SignoffCallError('policy_denied', 'no deletes', 403, { rule_id: 'deny-deletes' });
    };
    const denied = await handler.handle(tool.name, {}, undefined, context);
    expect(denied).toMatchObject({ isError: true, _meta: { 'signoff/error': { code: 'policy_denied', rule_id: 'deny-deletes', message: 'no deletes' } } });
  });

  it('answers the end of a refused approval with its code', async () => {
    const { signoff, handler, context } = setup(2000);
    signoff.answer = (r) => ({ status: 'approval_required', job_id: r.job_id, rule_id: 'r', job_hash: 'h', approval_ref: 'apr' });
    const pending = handler.handle(tool.name, {}, undefined, context);
    await new Promise((r) => setTimeout(r, 30));
    const id = signoff.submitted[0].job_id;
    signoff.jobs.set(id, { ...signoff.jobs.get(id)!, state: 'REJECTED', approval: { approval_ref: 'apr', state: 'rejected', expires_at: 'e', rejection_reason: 'not today' } });
    expect((await pending)._meta?.['signoff/error']).toMatchObject({ code: 'approval_rejected', message: expect.stringContaining('not today') });
  });
});
