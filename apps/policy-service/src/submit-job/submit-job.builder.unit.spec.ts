import { CommandMetadata, decide, foldJob, JobAggregateState } from '@signoff/approvals';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { describe, expect, it } from 'vitest';
import { resolveJobCommand } from '../resolve-job/resolve-job.builder';
import { submitJobCommand, SubmitJobInput } from './submit-job.builder';

const SNAP = `sha256:${'a'.repeat(64)}`;
const request = normalizeJobRequest({ topic: 'payments.prod', submitted_by: 'agent-7', tenant: 'acme', payload: { amount: 1 } });
const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'req-1', actor: 'agent-7', now: '2025-03-01T10:00:00.000Z' };
const approval = { required: 1, reviewers: [], timeout_ms: 60_000, on_timeout: 'reject' as const };

function input(overrides: Partial<SubmitJobInput> = {}): SubmitJobInput {
  return {
    jobId: 'job-1',
    request,
    jobHash: jobHash(request),
    policy: { snapshot: SNAP, version: '3' },
    evaluation: { decision: 'allow', rule_id: 'allow-reads', reason: 'reads are fine' },
    approvalRef: 'apr_1',
    metadata,
    ...overrides,
  };
}

describe('submitJobCommand', () => {
  it('builds SubmitJob with the evaluation under the policy it ran under', () => {
    expect(submitJobCommand(input(), foldJob([]))).toEqual({
      type: 'SubmitJob',
      data: {
        job_id: 'job-1',
        request,
        job_hash: jobHash(request),
        policy: { decision: 'allow', rule_id: 'allow-reads', reason: 'reads are fine', policy_snapshot: SNAP, policy_version: '3' },
      },
      metadata,
    });
  });

  it('carries the approval requirement and the approval reference only for require_human', () => {
    const command = submitJobCommand(input({ evaluation: { decision: 'require_human', rule_id: 'review', reason: 'r', approval } }), foldJob([]));
    expect(command.data.policy).toEqual({ decision: 'require_human', rule_id: 'review', reason: 'r', policy_snapshot: SNAP, policy_version: '3', approval });
    expect(command.data.approval_ref).toBe('apr_1');
    const denied = submitJobCommand(input({ evaluation: { decision: 'deny', rule_id: 'no', reason: 'no' } }), foldJob([]));
    expect(denied.data).not.toHaveProperty('approval_ref');
    expect(denied.data.policy).not.toHaveProperty('approval');
  });

  it('for a known job (no evaluation) sends a placeholder the decider answers from the log', () => {
    const stored = submitJobCommand(input(), foldJob([]));
    const first = decide(stored, foldJob([]));
    if (!first.ok) throw new Error(first.message);
    const known: JobAggregateState = foldJob(first.events);
    const command = submitJobCommand(input({ evaluation: null }), known);
    expect(command.data.policy).toMatchObject({ decision: 'allow', rule_id: null, reason: 'known job' });
  });

  it('is 503 busy when a job known at read time is gone (no evaluation to store it with)', () => {
    expect(() => submitJobCommand(input({ evaluation: null }), foldJob([]))).toThrow(expect.objectContaining({ code: 'busy' }));
  });
});

describe('resolveJobCommand', () => {
  const olga = { sub: 'olga', roles: new Set(['admin'] as const), topics: null, tenants: ['acme'] };
  const ref = { tenant: 'acme', jobId: 'job-1' };

  it('builds ResolveJobOutcome with the caller as resolved_by', () => {
    const first = decide(submitJobCommand(input(), foldJob([])), foldJob([]));
    if (!first.ok) throw new Error(first.message);
    expect(resolveJobCommand({ principal: olga, ref, input: { outcome: 'succeeded', reason: 'checked' }, metadata }, foldJob(first.events))).toEqual({
      type: 'ResolveJobOutcome',
      data: { job_id: 'job-1', outcome: 'succeeded', reason: 'checked', resolved_by: 'olga' },
      metadata,
    });
  });

  it('is 404 for a missing job or one of a tenant the caller may not see', () => {
    expect(() => resolveJobCommand({ principal: olga, ref, input: { outcome: 'failed', reason: 'x' }, metadata }, foldJob([]))).toThrow(expect.objectContaining({ code: 'not_found' }));
    const first = decide(submitJobCommand(input(), foldJob([])), foldJob([]));
    if (!first.ok) throw new Error(first.message);
    expect(() => resolveJobCommand({ principal: { ...olga, tenants: ['other'] }, ref, input: { outcome: 'failed', reason: 'x' }, metadata }, foldJob(first.events))).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });
});
