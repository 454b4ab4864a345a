import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { SubmitAnswer, SubmitJob, toSignoffError } from '@signoff/approvals';
import { ActivePolicy, Clock, commandMetadata, JobCommandHandler } from '@signoff/core';
import { evaluate, jobHash, JobRequestInput, normalizeJobRequest, ThrottleCounter } from '@signoff/policy-engine';

export interface FixtureJob extends Partial<JobRequestInput> {
  readonly job_id?: string;
  readonly topic: string;
}

/**
 * Records a job as the policy service would (test fixture; tenant `default` unless `job.tenant`
 * says otherwise, submitter `agent-7`): evaluate it under the active policy,
 * then execute SubmitJob through the JobCommandHandler (JobSubmitted, PolicyEvaluated and, for
 * require_human, ApprovalRequested in one append). Throws the decider's refusal (e.g. 409
 * job_request_changed for the same id with other content).
 */
export async function submitJob(app: INestApplicationContext, job: FixtureJob): Promise<SubmitAnswer> {
  const policy = app.get(ActivePolicy).get();
  const clock = app.get(Clock);
  const request = normalizeJobRequest({ submitted_by: 'agent-7', priority: 'high', ...job });
  const evaluation = await evaluate(policy.compiled, request, { counter: app.get(ThrottleCounter), now: clock.now().getTime() });
  if (evaluation.decision === 'throttle') throw new Error(`fixture job ${job.topic} was throttled`);
  const jobId = job.job_id ?? `job-${randomUUID()}`;
  const { result } = await app.get(JobCommandHandler).execute({ tenant: request.tenant, jobId }, (): SubmitJob => ({
    type: 'SubmitJob',
    data: {
      job_id: jobId,
      request,
      job_hash: jobHash(request),
      policy: {
        decision: evaluation.decision,
        rule_id: evaluation.rule_id,
        reason: evaluation.reason,
        policy_snapshot: policy.snapshot,
        policy_version: policy.version,
        ...(evaluation.decision === 'require_human' ? { approval: evaluation.approval } : {}),
      },
      ...(evaluation.decision === 'require_human' ? { approval_ref: `apr_${randomUUID()}` } : {}),
    },
    metadata: commandMetadata(clock, { actor: request.submitted_by }),
  }));
  if (!result.ok) throw toSignoffError(result);
  return result.outcome.status === 'duplicate' ? result.outcome.answer : result.outcome;
}

/** A production payment that needs one reviewer (rule require-approval-prod-finance of the test policy). */
export function paymentJob(extra: Partial<FixtureJob> = {}): FixtureJob {
  return { topic: 'finance.payment.execute', labels: { env: 'production' }, payload: { amount: 1250, currency: 'EUR' }, ...extra };
}
