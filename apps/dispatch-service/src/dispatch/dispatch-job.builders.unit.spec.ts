import { CommandMetadata, decide, foldJob, JobAggregateState, JobCommand } from '@signoff/approvals';
import { DEFAULT_TENANT } from '@signoff/contracts';
import { jobHash, normalizeJobRequest } from '@signoff/policy-engine';
import { describe, expect, it } from 'vitest';
import { replayDispatchCommand } from '../replay/replay-dispatch.builder';
import { claimDispatchCommand, recordDispatchCommand } from './dispatch-job.builders';

const SNAP = `sha256:${'a'.repeat(64)}`;
const ref = { tenant: 'acme', jobId: 'job-1' };
const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'evt-1', actor: 'dispatcher-1', now: '2025-03-01T10:00:01.000Z' };
const request = normalizeJobRequest({ topic: 'knowledge.read', submitted_by: 'agent-7', tenant: 'acme', payload: { q: 1 } });

function run(state: JobAggregateState, command: JobCommand): JobAggregateState {
  const result = decide(command, state);
  if (!result.ok) throw new Error(`${command.type}: ${result.message}`);
  return foldJob(result.events, state);
}

/** An allowed job of `acme`, never claimed. */
function allowed(): JobAggregateState {
  return run(foldJob([]), {
    type: 'SubmitJob',
    data: {
      job_id: ref.jobId,
      request,
      job_hash: jobHash(request),
      policy: { decision: 'allow', rule_id: 'reads', reason: 'ok', policy_snapshot: SNAP, policy_version: '1' },
    },
    metadata: { commandId: 's-1', correlationId: 's-1', actor: 'agent-7', now: '2025-03-01T10:00:00.000Z' },
  });
}

describe('claimDispatchCommand', () => {
  it('claims attempt 1 of a job never claimed, with a fresh idempotency key scoped by tenant, and the grant check', () => {
    const command = claimDispatchCommand({ ref, grantCheck: { snapshot_mode: 'strict' }, claimedBy: 'dispatcher-1', metadata }, allowed());
    expect(command).toMatchObject({ type: 'ClaimDispatch', data: { job_id: 'job-1', attempt: 1, claimed_by: 'dispatcher-1', snapshot_mode: 'strict' }, metadata });
    expect(command.data.idempotency_key).toMatch(/^acme\|job-1:[A-Za-z0-9_-]{22}$/);
    const other = claimDispatchCommand({ ref, grantCheck: {}, claimedBy: 'dispatcher-1', metadata }, allowed());
    expect(other.data.idempotency_key).not.toBe(command.data.idempotency_key);
  });

  it('names the default tenant\'s keys by job id alone', () => {
    const command = claimDispatchCommand({ ref: { tenant: DEFAULT_TENANT, jobId: 'job-1' }, grantCheck: {}, claimedBy: 'd', metadata }, foldJob([]));
    expect(command.data.idempotency_key).toMatch(/^job-1:[A-Za-z0-9_-]{22}$/);
  });

  it('keeps the attempt and idempotency key the first claim fixed', () => {
    const first = claimDispatchCommand({ ref, grantCheck: {}, claimedBy: 'dispatcher-1', metadata }, allowed());
    const claimed = run(allowed(), first);
    const again = claimDispatchCommand({ ref, grantCheck: {}, claimedBy: 'dispatcher-2', metadata }, claimed);
    expect(again.data).toMatchObject({ attempt: 1, idempotency_key: first.data.idempotency_key, claimed_by: 'dispatcher-2' });
  });
});

describe('recordDispatchCommand', () => {
  it('records the claimed attempt at the partition and offset the broker gave', () => {
    expect(
      recordDispatchCommand({ jobId: 'job-1', claimed: { attempt: 2, idempotency_key: 'k' }, record: { topic: 'signoff.jobs.dispatch', partition: 3, offset: '17' }, metadata }),
    ).toEqual({
      type: 'RecordDispatch',
      data: { job_id: 'job-1', attempt: 2, idempotency_key: 'k', topic: 'signoff.jobs.dispatch', partition: 3, offset: '17' },
      metadata,
    });
  });
});

describe('replayDispatchCommand', () => {
  const candidate = { job_id: 'job-1', attempt: 2, reason: 'not_acknowledged' as const };

  it('opens the next attempt within the limits', () => {
    expect(replayDispatchCommand({ candidate, maxAttempts: 5, runTimeoutMs: 60_000, snapshotMode: 'strict', metadata })).toEqual({
      type: 'ReplayDispatch',
      data: { job_id: 'job-1', attempt: 3, reason: 'not_acknowledged', max_attempts: 5, run_timeout_ms: 60_000 },
      metadata,
    });
  });

  it('carries the grant\'s log fact and the snapshot mode only when there is a grant', () => {
    const grant = { approval_id: 'a-1', active_snapshot: SNAP } as never;
    const command = replayDispatchCommand({ candidate, maxAttempts: 5, runTimeoutMs: 60_000, grant, snapshotMode: 'decision', metadata });
    expect(command.data).toMatchObject({ grant_fact: grant, snapshot_mode: 'decision' });
  });
});
