import { Injectable } from '@nestjs/common';
import type { EventMetadata, JobEvent, JobRef } from '@signoff/contracts';
import { HistoryRedaction, JobCommandHandler, visibleJob } from '@signoff/core';
import { Principal } from '@signoff/runtime';

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

/**
 * The history of a job, in stream order: who decided what, when, under which policy (invariant 7),
 * for callers that may read the job, with the request and the worker's result redacted.
 */
@Injectable()
export class JobEventsQuery {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly redaction: HistoryRedaction,
  ) {}

  async events(principal: Principal, ref: JobRef): Promise<JobEventsView> {
    const { state, events } = await this.commands.load(ref);
    const job = visibleJob(principal, state, ref);
    return {
      job_id: ref.jobId,
      tenant: ref.tenant,
      events: this.redaction.events(events, job).map((event) => ({
        revision: Number(event.revision),
        id: event.id,
        type: event.type,
        data: event.data,
        metadata: event.metadata,
        recorded_at: event.createdAt.toISOString(),
      })),
    };
  }
}
