import { Command } from '@nestjs/cqrs';
import type { ResolveJobOutcomeOutcome } from '@signoff/approvals';
import type { JobRef, ResolveJobDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** Resolve the outcome of an UNKNOWN job (`POST /jobs/:id/resolve`), on the CommandBus. */
export class ResolveJobCommand extends Command<ResolveJobOutcomeOutcome> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly input: ResolveJobDto,
  ) {
    super();
  }
}
