import { describe, expect, it } from 'vitest';
import { APPROVAL_REF_META, approvalRefOf, holdAction, JobSnapshot, pendingResult, pollDelayMs, stepOf, succeededResult } from './call-step';

const job = (state: string, extra: Partial<JobSnapshot> = {}): JobSnapshot => ({ job_id: 'mcp-1', topic: 'mcp.s.t', state, rule_id: 'r1', job_hash: 'sha256:x', ...extra });

describe('what a job state means for its held call', () => {
  it.each([
    ['APPROVAL_REQUIRED', 'awaiting_approval'],
    ['PENDING', 'awaiting_result'],
    ['DISPATCHED', 'awaiting_result'],
    ['RUNNING', 'awaiting_result'],
  ])('%s -> %s', (state, kind) => {
    expect(stepOf(job(state)).kind).toBe(kind);
  });

  it('SUCCEEDED carries the stored result', () => {
    expect(stepOf(job('SUCCEEDED', { result: { status: 'succeeded', result: { content: [] } } }))).toEqual({ kind: 'succeeded', result: { content: [] } });
  });

  it.each([
    ['FAILED', 'tool_failed', { result: { status: 'failed', error: 'boom' } }, 'boom'],
    ['FAILED', 'tool_failed', { dispatch: { abandoned: { reason: 'gave up' } } }, 'gave up'],
    ['UNKNOWN', 'outcome_unknown', { result: { status: 'unknown', unknown_reason: 'lease lost' } }, 'lease lost'],
    ['DENIED', 'policy_denied', {}, 'r1'],
    ['REJECTED', 'approval_rejected', { approval: { approval_ref: 'a', state: 'rejected', expires_at: 'e', rejection_reason: 'too much' } }, 'too much'],
    ['EXPIRED', 'approval_expired', { approval: { approval_ref: 'a', state: 'expired', expires_at: '2026-12-03T00:00:00Z' } }, '2026-12-03'],
    ['INVALIDATED', 'approval_invalidated', {}, 'policy changed'],
    ['SOMETHING_NEW', 'outcome_unknown', {}, 'SOMETHING_NEW'],
  ])('%s -> refused %s', (state, code, extra, text) => {
    const step = stepOf(job(state, extra as Partial<JobSnapshot>));
    expect(step).toMatchObject({ kind: 'refused', code });
    expect((step as { message: string }).message).toContain(text);
  });

  it('holds while waiting, answers at the bound, answers an end at once', () => {
    expect(holdAction({ kind: 'awaiting_approval' }, 999, 1000)).toBe('wait');
    expect(holdAction({ kind: 'awaiting_approval' }, 1000, 1000)).toBe('answer');
    expect(holdAction({ kind: 'awaiting_result' }, 1000, 1000)).toBe('answer');
    expect(holdAction({ kind: 'succeeded', result: null }, 0, 1000)).toBe('answer');
    expect(holdAction({ kind: 'awaiting_approval' }, 0, 0)).toBe('answer');
  });

  it('polls quickly for a result, slowly for a human, bounded', () => {
    expect(pollDelayMs({ kind: 'awaiting_result' }, 0)).toBe(20);
    expect(pollDelayMs({ kind: 'awaiting_result' }, 10)).toBe(250);
    expect(pollDelayMs({ kind: 'awaiting_approval' }, 0)).toBe(200);
    expect(pollDelayMs({ kind: 'awaiting_approval' }, 10)).toBe(1000);
  });
});

describe('approval references', () => {
  it('reads a well-formed reference', () => {
    const ref = `mcp-${'a'.repeat(32)}`;
    expect(approvalRefOf({ [APPROVAL_REF_META]: ref })).toEqual({ ref });
    expect(approvalRefOf(undefined)).toEqual({ ref: null });
    expect(approvalRefOf({ progressToken: 1 })).toEqual({ ref: null });
  });

  it.each([
    ['another tenant spelled in', `t2|mcp-${'a'.repeat(32)}`],
    ['upper case', `mcp-${'A'.repeat(32)}`],
    ['short', 'mcp-abc'],
    ['a path', '../../jobs/x'],
    ['NUL', `mcp-${'a'.repeat(31)}\u0000`],
    ['a Signoff job id of another kind', 'sa-allow'],
    ['a number', 42],
    ['an object', { ref: 'x' }],
  ])('refuses a forged reference (%s) before anything is read', (_what, ref) => {
    expect(approvalRefOf({ [APPROVAL_REF_META]: ref })).toHaveProperty('problem');
  });
});

describe('answers', () => {
  it('a pending answer names the reference, its expiry and the arguments hash', () => {
    const r = pendingResult({ code: 'approval_pending', approval_ref: 'mcp-x', expires_at: '2026-12-03T00:00:00Z', args_hash: 'sha256:h', topic: 't', rule_id: 'r', review_ref: 'apr_1' });
    expect(r.isError).toBe(true);
    expect(r._meta?.['signoff/approval']).toMatchObject({ status: 'pending', approval_ref: 'mcp-x', expires_at: '2026-12-03T00:00:00Z', args_hash: 'sha256:h' });
    expect(r.content[0].text).toContain('mcp-x');
  });

  it('a stored result passes through with the job in _meta; a non-MCP result becomes text', () => {
    const ok = succeededResult({ content: [{ type: 'text', text: 'hi' }], structuredContent: { a: 1 } }, { job_id: 'j', topic: 't', decision: 'allow', args_hash: 'h' });
    expect(ok).toMatchObject({ content: [{ type: 'text', text: 'hi' }], structuredContent: { a: 1 }, _meta: { 'signoff/job': { job_id: 'j' } } });
    expect(succeededResult({ x: 1 }, { job_id: 'j', topic: 't', decision: 'allow', args_hash: 'h' }).content).toEqual([{ type: 'text', text: '{"x":1}' }]);
  });
});
