/*
 * Test fixture (int tier): a released job driven through the real decider to UNKNOWN, the way the
 * dispatch service records it (claim, publish, a worker's `started`, another worker's `unknown`).
 * Not imported by production code.
 */
import { CommandMetadata, JobCommand } from '@signoff/approvals';
import { describeJobRef, JobRef } from '@signoff/contracts';
import { commandMetadata, JobCommandHandler, SystemClock } from '@signoff/core';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';

const meta = (actor: string): CommandMetadata => commandMetadata(new SystemClock(), { actor });

async function run(commands: JobCommandHandler, ref: JobRef, command: JobCommand): Promise<void> {
  const { result } = await commands.execute(ref, () => command);
  if (!result.ok) throw new Error(`${command.type} ${describeJobRef(ref)}: ${result.code} ${result.message}`);
}

/** An allowed job of `tenant`, started by worker-1, found with its lease lost by worker-2: UNKNOWN. */
export async function seedUnknownJob(commands: JobCommandHandler, jobId: string, tenant = 'acme', upTo: 'running' | 'unknown' = 'unknown'): Promise<void> {
  const request = normalizeJobRequest({ topic: 'knowledge.read', submitted_by: 'agent-7', tenant, payload: { n: jobId } });
  const key = `${jobId}:dispatch`;
  const ref: JobRef = { tenant, jobId };
  await run(commands, ref, {
    type: 'SubmitJob',
    data: {
      job_id: jobId,
      request,
      job_hash: jobHash(request),
      policy: { decision: 'allow', rule_id: 'allow-readonly', reason: 'test', policy_snapshot: `sha256:${'5'.repeat(64)}`, policy_version: 'v1' },
    },
    metadata: meta('agent-7'),
  });
  await run(commands, ref, { type: 'ClaimDispatch', data: { job_id: jobId, attempt: 1, idempotency_key: key, claimed_by: 'dispatch-1' }, metadata: meta('dispatch-1') });
  await run(commands, ref, {
    type: 'RecordDispatch',
    data: { job_id: jobId, attempt: 1, idempotency_key: key, topic: 'signoff.jobs.dispatch', partition: 0, offset: '1' },
    metadata: meta('dispatch-1'),
  });
  await run(commands, ref, { type: 'RecordJobStarted', data: { job_id: jobId, idempotency_key: key, attempt: 1, worker: 'worker-1' }, metadata: meta('worker-1') });
  if (upTo === 'running') return;
  await run(commands, ref, {
    type: 'RecordJobOutcomeUnknown',
    data: { job_id: jobId, idempotency_key: key, attempt: 1, worker: 'worker-2', reason: 'the lease of worker-1 (run 1) expired after its side effect began', fencing_token: 1 },
    metadata: meta('worker-2'),
  });
}
