import { Command } from '@nestjs/cqrs';
import type { JobRef, JobResultMessageDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/**
 * Record a worker's report (`signoff.jobs.results`) on the job's stream, on the CommandBus.
 * `principal`: the verified credential of the report (its subject is the recorded actor, its
 * tenants the reporter's scope).
 */
export class RecordJobResultCommand extends Command<void> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly report: JobResultMessageDto,
  ) {
    super();
  }
}
