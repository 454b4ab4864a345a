import { Query } from '@nestjs/cqrs';
import type { EventMetadata, JobEvent, JobRef } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** One stored event of a job, as `GET /jobs/:id/events` shows it. */
export interface JobEventView {
  /** 0-based position in the job's stream. */
  readonly revision: number;
  readonly id: string;
  readonly type: JobEvent['type'];
  readonly data: JobEvent['data'];
  /** `correlationId`, `causationId`, `actor` (who) and `at` (when it was decided). */
  readonly metadata: EventMetadata;
  /** When the store recorded it. */
  readonly recorded_at: string;
}

export interface JobEventsView {
  readonly job_id: string;
  readonly tenant: string;
  readonly events: JobEventView[];
}

/** Read a job's history (`GET /jobs/:id/events`), on the QueryBus. */
export class JobEventsQuery extends Query<JobEventsView> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
  ) {
    super();
  }
}
