import { Query } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';

/** One job whose outcome is unknown, as `GET /jobs?state=UNKNOWN` lists it. */
export interface UnknownJobItem {
  readonly job_id: string;
  readonly topic: string;
  readonly tenant: string;
  readonly state: 'UNKNOWN';
  readonly idempotency_key: string | null;
  readonly attempt: number;
  /** The worker that reported `started`, when one did. */
  readonly worker: string | null;
  readonly started_at: string | null;
  /** Who found the lease lost (a worker, or the dispatcher when replays ran out), why, and when. */
  readonly reported_by: string;
  readonly unknown_reason: string;
  readonly unknown_since: string;
}

/** At most this many items per answer (the oldest first); `truncated` says when there are more. */
export const MAX_UNKNOWN_ITEMS = 500;

/** What `GET /jobs?state=UNKNOWN` answers. */
export interface UnknownJobsPage {
  readonly items: UnknownJobItem[];
  readonly truncated: boolean;
}

/** List the UNKNOWN jobs the caller may read (`tenant`: only that tenant's), on the QueryBus. */
export class UnknownJobsQuery extends Query<UnknownJobsPage> {
  constructor(
    readonly principal: Principal,
    readonly tenant?: string,
  ) {
    super();
  }
}
