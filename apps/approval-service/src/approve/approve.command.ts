import { Command } from '@nestjs/cqrs';
import type { ApproveJobOutcome } from '@signoff/approvals';
import type { ApproveDto, JobRef } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** Approve a job (HTTP `POST /approvals/:job_id/approve`, gRPC `Approvals/Approve`), on the CommandBus. */
export class ApproveCommand extends Command<ApproveJobOutcome> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly input: ApproveDto,
  ) {
    super();
  }
}
