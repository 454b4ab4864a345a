import { randomUUID } from 'node:crypto';
import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { CommandMetadata, RecordJobCompleted, RecordJobOutcomeUnknown, RecordJobStarted } from '@signoff/approvals';
import { JobResultMessageDto, validateMessage } from '@signoff/contracts';
import { Clock, JobCommandHandler } from '@signoff/core';
import { busMessage } from '@signoff/messaging';
import { SignoffMetrics } from '@signoff/observability';
import { Counter } from 'prom-client';
import { outcomeUnknownCounter } from '../replay/replay.consumer';

/** The worker name recorded when a `started` report does not name one. */
export const UNKNOWN_WORKER = 'unknown';

/**
 * Records the workers' reports from `signoff.jobs.results` as JobStarted / JobCompleted /
 * JobOutcomeUnknown (`unknown`: a worker found the claim's lease lost after the side effect began,
 * with no outcome recorded, for a handler that is not idempotent; the job becomes UNKNOWN). A report
 * that is not a valid result message, names another job than its key, or that the decider refuses
 * (unknown job, wrong idempotency key, a second result contradicting the first) is logged and
 * skipped: one bad message never blocks the partition. Store failures and contention throw, so the
 * bus redelivers the report. Repeated reports (redeliveries, duplicates) are idempotent.
 */
@Controller()
export class JobResultsMessageController {
  private readonly logger = new Logger('JobResultsConsumer');

  private readonly unknownTotal: Counter;

  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    metrics: SignoffMetrics,
  ) {
    this.unknownTotal = outcomeUnknownCounter(metrics);
  }

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
    const commandId = randomUUID();
    const metadata = (): CommandMetadata => ({
      commandId,
      correlationId: report.idempotency_key,
      actor: report.worker ?? UNKNOWN_WORKER,
      now: this.clock.now().toISOString(),
    });
    const { result, appended } = await this.record(report, metadata);
    if (!result.ok) this.logger.warn(`skipping result ${where} for job ${report.job_id}: ${result.code}: ${result.message}`);
    if (appended.some((event) => event.type === 'JobOutcomeUnknown')) {
      this.unknownTotal.inc();
      this.logger.error(
        `job ${report.job_id} is UNKNOWN: ${report.worker ?? UNKNOWN_WORKER} found its claim's lease lost after the side effect began, ` +
          'with no outcome recorded; an operator resolves it (POST /api/v1/jobs/:id/resolve)',
      );
    }
  }

  /** The report as the decider's command for its status. */
  private record(report: JobResultMessageDto, metadata: () => CommandMetadata) {
    const worker = report.worker ?? UNKNOWN_WORKER;
    const { job_id, idempotency_key } = report;
    switch (report.status) {
      case 'started':
        return this.commands.execute(job_id, (): RecordJobStarted => ({
          type: 'RecordJobStarted',
          data: { job_id, idempotency_key, worker },
          metadata: metadata(),
        }));
      case 'succeeded':
      case 'failed': {
        const status = report.status;
        return this.commands.execute(job_id, (): RecordJobCompleted => ({
          type: 'RecordJobCompleted',
          data: {
            job_id,
            idempotency_key,
            status,
            ...(report.result !== undefined ? { result: report.result } : {}),
            ...(report.error !== undefined ? { error: report.error } : {}),
          },
          metadata: metadata(),
        }));
      }
      case 'unknown':
        return this.commands.execute(job_id, (): RecordJobOutcomeUnknown => ({
          type: 'RecordJobOutcomeUnknown',
          data: {
            job_id,
            idempotency_key,
            worker,
            reason: report.error ?? 'the worker lost its lease without a recorded outcome',
            ...(report.fencing_token !== undefined ? { fencing_token: report.fencing_token } : {}),
          },
          metadata: metadata(),
        }));
      default: {
        const _exhaustive: never = report.status;
        throw new Error(`unknown result status ${String(_exhaustive)}`);
      }
    }
  }
}
