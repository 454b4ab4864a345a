import { Command } from '@nestjs/cqrs';
import type { RejectJobOutcome } from '@signoff/approvals';
import type { JobRef, RejectDto } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** Reject a job (HTTP `POST /approvals/:job_id/reject`, gRPC `Approvals/Reject`), on the CommandBus. */
export class RejectCommand extends Command<RejectJobOutcome> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly input: RejectDto,
  ) {
    super();
  }
}
