import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { RejectJobOutcome, toSignoffError } from '@signoff/approvals';
import { SignoffError } from '@signoff/contracts';
import { Clock, commandMetadata, JobCommandHandler, newCommandId } from '@signoff/core';
import { rejectJobCommand } from '../reject/reject-job.builder';
import { awaitingApproval } from '../shared/job-access';
import { SlackRejectCommand } from './slack-reject.command';

/**
 * A rejection from Slack: the reject use case (tenant 404, topic 403, then the decider), plus the
 * evidence binding of the Slack buttons, checked on the same folded state inside the same
 * expected-revision append: an open approval bound to another snapshot or job hash than the
 * message showed is refused 409 `stale_review`.
 */
@CommandHandler(SlackRejectCommand)
export class SlackRejectHandler implements ICommandHandler<SlackRejectCommand> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  async execute({ principal, ref, reason, reviewed }: SlackRejectCommand): Promise<RejectJobOutcome> {
    const commandId = newCommandId();
    const { result } = await this.commands.execute(ref, (state) => {
      // 1. Who may reject it at all (reveals nothing to others); 2. what the reviewer saw.
      const command = rejectJobCommand({ principal, ref, input: { reason }, metadata: commandMetadata(this.clock, { actor: principal.sub, commandId }) }, state);
      const approval = awaitingApproval(state);
      if (approval && (approval.policy_snapshot !== reviewed.policySnapshot || approval.job_hash !== reviewed.jobHash)) {
        throw new SignoffError('stale_review', 'the approval is not bound to the policy snapshot and job the Slack message showed', {
          expected: { policy_snapshot: approval.policy_snapshot, job_hash: approval.job_hash },
        });
      }
      return command;
    });
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
