import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { DispatchJobCommand } from './dispatch-job.command';
import { DispatchResult, JobDispatcher } from './job-dispatcher';

/**
 * Dispatch (DESIGN sections 6 and 12): claim, sign and publish, record; see JobDispatcher, which
 * the replay consumer also drives for the attempts it reopens.
 */
@CommandHandler(DispatchJobCommand)
export class DispatchJobHandler implements ICommandHandler<DispatchJobCommand> {
  constructor(private readonly dispatcher: JobDispatcher) {}

  execute({ ref, correlationId, approved }: DispatchJobCommand): Promise<DispatchResult> {
    return this.dispatcher.dispatch(ref, correlationId, undefined, { readLogAhead: approved });
  }
}
