import { randomUUID } from 'node:crypto';
import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { CommandMetadata, RecordJobCompleted, RecordJobStarted } from '@signoff/approvals';
import { DEFAULT_TENANT, describeJobRef, JobRef, JobResultMessageDto, validateMessage } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { busMessage } from '@signoff/messaging';

/** The worker name recorded when a `started` report does not name one. */
export const UNKNOWN_WORKER = 'unknown';

/**
 * Records the workers' reports from `signoff.jobs.results` as JobStarted / JobCompleted. A report
 * that is not a valid result message, names another job than its key, or that the decider refuses
 * (unknown job, wrong idempotency key, a second result contradicting the first) is logged and
 * skipped: one bad message never blocks the partition. Store failures and contention throw, so the
 * bus redelivers the report. Repeated reports (redeliveries, duplicates) are idempotent.
 */
@Controller()
export class JobResultsMessageController {
  private readonly logger = new Logger('JobResultsConsumer');

  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  @EventPattern('jobs.results')
  async onResult(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    const where = `${message.topic}[${message.partition}]@${message.offset}`;
    const parsed = validateMessage(JobResultMessageDto, value);
    if (!parsed.ok) {
      this.logger.warn(`skipping invalid result ${where}: ${parsed.errors.map((e) => `${e.field || 'value'}: ${e.message}`).join('; ')}`);
      return;
    }
    const report = parsed.value;
    if (message.key !== null && message.key !== report.job_id) {
      this.logger.warn(`skipping result ${where}: job_id ${report.job_id} differs from the message key ${message.key}`);
      return;
    }
    // The tenant of the dispatch the worker ran; reports of older workers name none (default).
    const ref: JobRef = { tenant: report.tenant ?? DEFAULT_TENANT, jobId: report.job_id };
    const commandId = randomUUID();
    const metadata = (): CommandMetadata => ({
      commandId,
      correlationId: report.idempotency_key,
      actor: report.worker ?? UNKNOWN_WORKER,
      now: this.clock.now().toISOString(),
    });
    const { result } =
      report.status === 'started'
        ? await this.commands.execute(ref, (): RecordJobStarted => ({
            type: 'RecordJobStarted',
            data: { job_id: report.job_id, idempotency_key: report.idempotency_key, worker: report.worker ?? UNKNOWN_WORKER },
            metadata: metadata(),
          }))
        : await this.commands.execute(ref, (): RecordJobCompleted => ({
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
    if (!result.ok) this.logger.warn(`skipping result ${where} for job ${describeJobRef(ref)}: ${result.code}: ${result.message}`);
  }
}
