import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { SignoffError } from '@signoff/contracts';
import { topicGlob } from '@signoff/runtime';
import { filter, Observable, takeUntil, timer } from 'rxjs';
import { ApprovalChange } from '../projections/approval-summary';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { maySeeApproval } from '../shared/job-access';
import { WatchApprovalsQuery } from './watch-approvals.query';

const TOPIC_GLOB = /^[A-Za-z0-9._*-]{1,200}$/;

/**
 * Approval changes (requested, vote_recorded, granted, rejected, expired, invalidated, drifted, reminded, escalated)
 * from this instance's pending-approvals projection, from the moment of subscription on or after
 * a change id, limited to what the caller may read (its tenants first, then a reviewer's topics:
 * the rules of the list) and to the optional topic glob. The stream ends when the caller's token
 * expires (`Principal.expiresAtMs`): an SSE, console or gRPC stream never outlives its credential
 * (the client reconnects with a fresh token and resumes with its last change id).
 */
@QueryHandler(WatchApprovalsQuery)
export class WatchApprovalsHandler implements IQueryHandler<WatchApprovalsQuery> {
  constructor(private readonly projection: PendingApprovalsProjection) {}

  // async: the bus answers with a promise; a refusal rejects it as a throw did.
  async execute({ principal, input }: WatchApprovalsQuery): Promise<Observable<ApprovalChange>> {
    const glob = input.topic || undefined;
    if (glob !== undefined && !TOPIC_GLOB.test(glob)) {
      throw new SignoffError('invalid_request', 'topic must be a topic or a glob with *', { errors: [{ field: 'topic', message: 'invalid glob' }] });
    }
    const topic = glob === undefined ? null : topicGlob(glob);
    // What the caller may see first (tenant before its topic globs), the filter's glob last.
    const changes = this.projection
      .changesAfter(input.after || undefined)
      .pipe(filter(({ approval, readable }) => maySeeApproval(principal, readable) && (topic === null || topic.test(approval.topic))));
    return principal.expiresAtMs === undefined ? changes : changes.pipe(takeUntil(timer(new Date(principal.expiresAtMs))));
  }
}
