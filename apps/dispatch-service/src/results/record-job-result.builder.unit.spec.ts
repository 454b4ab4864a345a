import { CommandMetadata } from '@signoff/approvals';
import { JobResultMessageDto } from '@signoff/contracts';
import { Principal } from '@signoff/runtime';
import { describe, expect, it } from 'vitest';
import { recordJobResultCommand } from './record-job-result.builder';

const metadata: CommandMetadata = { commandId: 'c-1', correlationId: 'k-1', actor: 'worker-svc', now: '2025-03-01T10:00:00.000Z' };
const principal: Principal = { sub: 'worker-svc', roles: new Set(['worker']), topics: null, tenants: ['acme'] };
const report = (extra: Partial<JobResultMessageDto>): JobResultMessageDto => ({ job_id: 'job-1', idempotency_key: 'k-1', attempt: 2, status: 'started', ...extra }) as JobResultMessageDto;

describe('recordJobResultCommand', () => {
  it('started: RecordJobStarted with the worker (default: the credential subject), attempt and reporter tenants', () => {
    expect(recordJobResultCommand({ report: report({}), principal, metadata })).toEqual({
      type: 'RecordJobStarted',
      data: { job_id: 'job-1', idempotency_key: 'k-1', worker: 'worker-svc', attempt: 2, reporter_tenants: ['acme'] },
      metadata,
    });
    expect(recordJobResultCommand({ report: report({ worker: 'w-3' }), principal, metadata }).data).toMatchObject({ worker: 'w-3' });
  });

  it('succeeded / failed: RecordJobCompleted with the result or error when given, no worker', () => {
    expect(recordJobResultCommand({ report: report({ status: 'succeeded', result: { ok: 1 } }), principal, metadata })).toEqual({
      type: 'RecordJobCompleted',
      data: { job_id: 'job-1', idempotency_key: 'k-1', status: 'succeeded', result: { ok: 1 }, attempt: 2, reporter_tenants: ['acme'] },
      metadata,
    });
    const failed = recordJobResultCommand({ report: report({ status: 'failed', error: 'boom' }), principal, metadata });
    expect(failed.data).toEqual({ job_id: 'job-1', idempotency_key: 'k-1', status: 'failed', error: 'boom', attempt: 2, reporter_tenants: ['acme'] });
  });

  it('unknown: RecordJobOutcomeUnknown with a default reason and the fencing token when given', () => {
    expect(recordJobResultCommand({ report: report({ status: 'unknown', fencing_token: 4 }), principal, metadata })).toEqual({
      type: 'RecordJobOutcomeUnknown',
      data: {
        job_id: 'job-1',
        idempotency_key: 'k-1',
        worker: 'worker-svc',
        reason: 'the worker lost its lease without a recorded outcome',
        fencing_token: 4,
        attempt: 2,
        reporter_tenants: ['acme'],
      },
      metadata,
    });
    expect(recordJobResultCommand({ report: report({ status: 'unknown', error: 'lease lost' }), principal, metadata }).data).toMatchObject({ reason: 'lease lost' });
  });
});
