import { Logger } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { describeJobRef, SignoffError } from '@signoff/contracts';
import { Clock, commandMetadata, JobCommandHandler, newCommandId } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import { Counter } from 'prom-client';
import { outcomeUnknownCounter } from '../replay/replay.consumer';
import { recordJobResultCommand } from './record-job-result.builder';
import { RecordJobResultCommand } from './record-job-result.command';

/**
 * Records a worker's report as JobStarted / JobCompleted / JobOutcomeUnknown, if the decider
 * accepts it (see JobResultsMessageController for the checks). A refusal throws a SignoffError
 * with the decider's code; a report that makes the job UNKNOWN is counted and logged for an
 * operator.
 */
@CommandHandler(RecordJobResultCommand)
export class RecordJobResultHandler implements ICommandHandler<RecordJobResultCommand> {
  private readonly logger = new Logger('JobResultsConsumer');
  private readonly unknownTotal: Counter;

  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
    metrics: SignoffMetrics,
  ) {
    this.unknownTotal = outcomeUnknownCounter(metrics);
  }

  async execute({ principal, ref, report }: RecordJobResultCommand): Promise<void> {
    const commandId = newCommandId();
    const { result, appended } = await this.commands.execute(ref, () =>
      recordJobResultCommand({
        report,
        principal,
        metadata: commandMetadata(this.clock, { actor: principal.sub, commandId, correlationId: report.idempotency_key }),
      }),
    );
    if (!result.ok) throw new SignoffError(result.code, `job ${describeJobRef(ref)}: ${result.message}`, result.details ?? {});
    if (appended.some((event) => event.type === 'JobOutcomeUnknown')) {
      this.unknownTotal.inc();
      this.logger.error(
        `job ${describeJobRef(ref)} is UNKNOWN: ${report.worker ?? principal.sub} found its claim's lease lost after the side effect began, ` +
          'with no outcome recorded; an operator resolves it (POST /api/v1/jobs/:id/resolve?tenant=)',
      );
    }
  }
}
