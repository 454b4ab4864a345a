import { randomUUID } from 'node:crypto';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { CommandMetadata, RecordJobCompleted, RecordJobStarted, toSignoffError } from '@signoff/approvals';
import { JobResultMessageDto, SignoffError, validateMessage } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { busMessage } from '@signoff/messaging';

/** The worker name recorded when a `started` report does not name one. */
export const UNKNOWN_WORKER = 'unknown';

/**
 * Records the workers' reports from `signoff.jobs.results` as JobStarted / JobCompleted. A report
 * that is not a valid result message, names another job than its key, holds a value the store
 * refuses (a NUL byte in `result` or `error`), or that the decider refuses (unknown job, wrong
 * idempotency key, a second result contradicting the first) throws a SignoffError with its code:
 * the bus dead-letters it to `signoff.jobs.results.dlq` and the partition moves on; it changes no
 * job. Store outages and contention are transient: the bus retries the report until they pass.
 * Repeated reports (redeliveries, duplicates) are idempotent.
 */
@Controller()
export class JobResultsMessageController {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  @EventPattern('jobs.results')
  async onResult(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    const parsed = validateMessage(JobResultMessageDto, value);
    if (!parsed.ok) throw new SignoffError('invalid_request', 'not a valid result message', { errors: parsed.errors });
    const report = parsed.value;
    if (message.key !== null && message.key !== report.job_id) {
      throw new SignoffError('invalid_request', `job_id ${report.job_id} differs from the message key ${message.key}`);
    }
    const commandId = randomUUID();
    const metadata = (): CommandMetadata => ({
      commandId,
      correlationId: report.idempotency_key,
      actor: report.worker ?? UNKNOWN_WORKER,
      now: this.clock.now().toISOString(),
    });
    const { result } =
      report.status === 'started'
        ? await this.commands.execute(report.job_id, (): RecordJobStarted => ({
            type: 'RecordJobStarted',
            data: { job_id: report.job_id, idempotency_key: report.idempotency_key, worker: report.worker ?? UNKNOWN_WORKER },
            metadata: metadata(),
          }))
        : await this.commands.execute(report.job_id, (): RecordJobCompleted => ({
            type: 'RecordJobCompleted',
            data: {
              job_id: report.job_id,
              idempotency_key: report.idempotency_key,
              status: report.status as 'succeeded' | 'failed',
              ...(report.result !== undefined ? { result: report.result } : {}),
              ...(report.error !== undefined ? { error: report.error } : {}),
            },
            metadata: metadata(),
          }));
    if (!result.ok) throw toSignoffError(result);
  }
}
