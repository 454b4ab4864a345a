import { Command } from '@nestjs/cqrs';
import type { JobRef } from '@signoff/contracts';
import type { DispatchResult } from './job-dispatcher';

/**
 * Dispatch a released job's current attempt (a `jobs.evaluated` allow or a `jobs.approved`
 * notification), on the CommandBus. `correlationId`: what the notification is (its event id).
 */
export class DispatchJobCommand extends Command<DispatchResult> {
  constructor(
    readonly ref: JobRef,
    readonly correlationId: string,
    /** The notification says the job was approved (`jobs.approved`): the dispatcher reads the log ahead (`DispatchOptions.readLogAhead`). */
    readonly approved = false,
  ) {
    super();
  }
}
