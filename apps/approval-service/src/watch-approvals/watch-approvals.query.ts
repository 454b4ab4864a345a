import { Query } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';
import type { Observable } from 'rxjs';
import type { ApprovalChange } from '../projections/approval-summary';

/** The filters of WatchApprovals / `GET /approvals/stream`, as sent ('' or absent = none). */
export interface WatchApprovalsInput {
  /** A topic or a glob (`finance.*`). */
  readonly topic?: string;
  /** The id of the last change the client has (`Last-Event-ID`): the stream resumes after it. */
  readonly after?: string;
}

/**
 * The approval changes the caller may see (gRPC `Approvals/WatchApprovals`, SSE
 * `GET /approvals/stream`), on the QueryBus. The answer is a cold observable: the feed is joined
 * when it is subscribed, so a transport subscribes before it tells the client the stream is live.
 */
export class WatchApprovalsQuery extends Query<Observable<ApprovalChange>> {
  constructor(
    readonly principal: Principal,
    readonly input: WatchApprovalsInput,
  ) {
    super();
  }
}
