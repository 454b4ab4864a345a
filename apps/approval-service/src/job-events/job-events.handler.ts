import { QueryHandler, IQueryHandler } from '@nestjs/cqrs';
import { HistoryRedaction, JobCommandHandler, visibleJob } from '@signoff/core';
import { JobEventsQuery, JobEventsView } from './job-events.query';

/**
 * The history of a job, in stream order: who decided what, when, under which policy (invariant 7),
 * for callers that may read the job, with the request and the worker's result redacted.
 */
@QueryHandler(JobEventsQuery)
export class JobEventsHandler implements IQueryHandler<JobEventsQuery> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly redaction: HistoryRedaction,
  ) {}

  async execute({ principal, ref }: JobEventsQuery): Promise<JobEventsView> {
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
