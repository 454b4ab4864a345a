import { Injectable } from '@nestjs/common';
import type { EventMetadata, JobEvent } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { Principal } from '@signoff/runtime';
import { checkedJobId, visibleJob } from '../shared/job-access';

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
  readonly events: JobEventView[];
}

/** The history of a job, in stream order: who decided what, when, under which policy (invariant 7). */
@Injectable()
export class JobEventsQuery {
  constructor(private readonly commands: JobCommandHandler) {}

  async events(principal: Principal, jobId: string): Promise<JobEventsView> {
    checkedJobId(jobId);
    const { state, events } = await this.commands.load(jobId);
    visibleJob(principal, state, jobId);
    return {
      job_id: jobId,
      events: events.map((event) => ({
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
