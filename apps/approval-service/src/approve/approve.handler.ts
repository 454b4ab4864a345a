import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ApproveJobOutcome, toSignoffError } from '@signoff/approvals';
import { parseAmendedRequest } from '@signoff/contracts';
import { ActivePolicy, Clock, commandMetadata, JobCommandHandler, newCommandId } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import { DelegationStreams, resolveOnBehalf } from '../delegation/shared/delegation-streams';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { ApprovalIntegrity } from '../shared/approval-integrity';
import { approveJobCommand } from './approve-job.builder';
import { ApproveCommand } from './approve.command';

/** Refusals counted by `signoff_approvals_snapshot_mismatch_total`. */
const INTEGRITY_REFUSALS = new Set(['snapshot_changed', 'job_request_changed']);

/**
 * Approve (DESIGN sections 3 and 4), the one entry of the use case whatever the transport. The
 * command is built (`approveJobCommand`) inside the command handler's read-decide-append loop,
 * from the state being appended to, so every check holds for the revision the vote is stored at:
 * 1. the job exists and its tenant is visible to the caller (else 404, nothing revealed);
 * 2. the caller's topic globs cover the job (else 403);
 * 3. the active snapshot, and in decision mode whether the active policy decides the stored
 *    request the same way, the hash of the stored request, what the reviewer looked at; with an
 *    `amended_request` (checked once, before the loop), the amended request, its hash and the
 *    active policy's decision for it (no throttle slot taken);
 * 4. the decider refuses or counts the vote; a conflicting append reloads and decides again, so
 *    the losers of a race read the grant and answer `already_approved`.
 */
@CommandHandler(ApproveCommand)
export class ApproveHandler implements ICommandHandler<ApproveCommand> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly integrity: ApprovalIntegrity,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    private readonly projection: PendingApprovalsProjection,
    private readonly delegations: DelegationStreams,
  ) {}

  async execute({ principal, ref, input }: ApproveCommand): Promise<ApproveJobOutcome> {
    const commandId = newCommandId();
    const approvalId = newCommandId();
    // Edit before approve: the amended request's content is checked once, before anything is read.
    const amended = input.amended_request === undefined ? null : parseAmendedRequest(input.amended_request);
    // A vote on behalf of a delegator: its chain is read from the delegation streams first.
    const delegated = await resolveOnBehalf(this.delegations, principal.sub, input.on_behalf_of, this.clock.now());
    // The first attempt decides on this instance's fold of the stream when it has one (one round
    // trip instead of two); the expected revision makes that as safe as reading it.
    const cached = this.projection.cached(ref);
    const { result } = await this.commands.execute(
      ref,
      (state) =>
        approveJobCommand(
          {
            principal,
            ref,
            input,
            amended,
            activePolicy: () => this.policy.get(),
            snapshotMode: this.integrity.mode,
            approvalId,
            metadata: commandMetadata(this.clock, { actor: principal.sub, commandId }),
            delegated,
          },
          state,
        ),
      cached ? { loaded: cached } : {},
    );
    if (!result.ok) {
      if (INTEGRITY_REFUSALS.has(result.code)) this.metrics.approvalsSnapshotMismatch.inc();
      throw toSignoffError(result);
    }
    if (result.outcome.status === 'already_approved') this.metrics.approvalsAlreadyApproved.inc();
    return result.outcome;
  }
}
