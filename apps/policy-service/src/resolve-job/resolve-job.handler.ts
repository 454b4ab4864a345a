import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ResolveJobOutcomeOutcome, toSignoffError } from '@signoff/approvals';
import { Clock, commandMetadata, JobCommandHandler, newCommandId } from '@signoff/core';
import { resolveJobCommand } from './resolve-job.builder';
import { ResolveJobCommand } from './resolve-job.command';

/**
 * An operator resolves a job whose outcome is UNKNOWN (`POST /jobs/:id/resolve[?tenant=]`, admin):
 * the job must exist in a tenant the caller may see (`existingJob`: 404 like a missing one
 * otherwise, as for approve and reject), then the decider records JobOutcomeResolved with who
 * (`resolved_by`, the caller's `sub`), what and why. Only an UNKNOWN job can be resolved (409
 * `not_ambiguous` otherwise); the same resolution again is `already_resolved`.
 */
@CommandHandler(ResolveJobCommand)
export class ResolveJobHandler implements ICommandHandler<ResolveJobCommand> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly clock: Clock,
  ) {}

  async execute({ principal, ref, input }: ResolveJobCommand): Promise<ResolveJobOutcomeOutcome> {
    const commandId = newCommandId();
    const { result } = await this.commands.execute(ref, (state) =>
      resolveJobCommand({ principal, ref, input, metadata: commandMetadata(this.clock, { actor: principal.sub, commandId }) }, state),
    );
    if (!result.ok) throw toSignoffError(result);
    return result.outcome;
  }
}
