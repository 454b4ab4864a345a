import { Command } from '@nestjs/cqrs';
import type { RejectJobOutcome } from '@signoff/approvals';
import type { JobRef } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** What the Slack message (and so the reject modal) showed: the approval is rejected only if it is still bound to it. */
export interface SlackReviewedEvidence {
  readonly policySnapshot: string;
  readonly jobHash: string;
}

/** Reject from Slack's reject modal, as the mapped reviewer, bound to the evidence the message showed. */
export class SlackRejectCommand extends Command<RejectJobOutcome> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
    readonly reason: string,
    readonly reviewed: SlackReviewedEvidence,
  ) {
    super();
  }
}
