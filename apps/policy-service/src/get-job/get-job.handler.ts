import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { JobView, toJobView } from '@signoff/approvals';
import { HistoryRedaction, JobCommandHandler, jobNotFound, visibleJob } from '@signoff/core';
import { GetJobQuery } from './get-job.query';

/**
 * A job's state, read from its stream. A job of a tenant the caller may not see, or one it may
 * not read (a submitter reads only its own jobs, a reviewer only those of its topics), is 404 like
 * a missing one; the request and result are redacted for readers.
 */
@QueryHandler(GetJobQuery)
export class GetJobHandler implements IQueryHandler<GetJobQuery> {
  constructor(
    private readonly commands: JobCommandHandler,
    private readonly redaction: HistoryRedaction,
  ) {}

  async execute({ principal, ref }: GetJobQuery): Promise<JobView> {
    const { state } = await this.commands.load(ref);
    const job = visibleJob(principal, state, ref);
    const view = toJobView(job);
    if (!view) throw jobNotFound(ref.jobId);
    return this.redaction.jobView(view, job);
  }
}
