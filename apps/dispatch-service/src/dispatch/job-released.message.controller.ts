import { Controller, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { describeJobRef, HEADERS, readReleaseNotice, releasedByEvaluation, SignoffError } from '@signoff/contracts';
import { busMessage, InboundMessage } from '@signoff/messaging';
import { isPermanentPublishError } from './batching.publisher';
import { DispatchJobCommand } from './dispatch-job.command';
import { DispatchResult } from './job-dispatcher';

/**
 * Dispatches jobs when they are released: allowed by policy (`signoff.jobs.evaluated` with
 * `decision: "allow"`) or approved (`signoff.jobs.approved`). A notification is only a hint: what
 * is published is read from the job's stream, and the decider refuses to claim a job that is not
 * allowed or approved, so a forged or stale notification can never put a denied, rejected or
 * unapproved job on `signoff.jobs.dispatch` (invariants 1 and 2). An unusable notification (no
 * valid job id, or value and key disagree) throws `invalid_request`: the bus dead-letters it to
 * `<topic>.dlq`; a notification the decider refuses (a job that is not released) is logged and
 * dropped (it is only a hint). Store and broker outages are transient: the bus retries them.
 */
@Controller()
export class JobReleasedMessageController {
  private readonly logger = new Logger('JobReleasedConsumer');

  constructor(private readonly commands: CommandBus) {}

  @EventPattern('jobs.evaluated')
  async onEvaluated(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    // Only allowed jobs are released by their evaluation; the rest wait for an approval or never run.
    if (!releasedByEvaluation(value)) return;
    await this.release(value, busMessage(context), false);
  }

  @EventPattern('jobs.approved')
  async onApproved(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    await this.release(value, busMessage(context), true);
  }

  private async release(value: unknown, message: InboundMessage, approved: boolean): Promise<void> {
    const ref = readReleaseNotice(value, message.key);
    const where = `${message.topic}[${message.partition}]@${message.offset}`;
    if (ref === null) {
      throw new SignoffError('invalid_request', 'no usable job: the value\'s job_id and the key must agree; job_id and tenant must match the id pattern');
    }
    let result: DispatchResult;
    try {
      result = await this.commands.execute(new DispatchJobCommand(ref, message.headers[HEADERS.eventId] ?? where, approved));
    } catch (error) {
      // A message the broker refuses for good would be refused on every redelivery: let the
      // partition move on; the replay consumer retries it and, past the max attempts, abandons it.
      if (isPermanentPublishError(error)) return;
      throw error;
    }
    if (result.status === 'refused') this.logger.warn(`not dispatching job ${describeJobRef(ref)} notified on ${where}: ${result.code}: ${result.message}`);
  }
}
