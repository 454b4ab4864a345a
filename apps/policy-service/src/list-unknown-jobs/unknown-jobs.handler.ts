import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { fromJobStreamId, JobEvent, SignoffEvent, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { EventStore, LogReader } from '@signoff/event-store';
import { canSeeTenant, mayReadJob } from '@signoff/runtime';
import { MAX_UNKNOWN_ITEMS, UnknownJobItem, UnknownJobsPage, UnknownJobsQuery } from './unknown-jobs.query';

/**
 * The jobs whose outcome is UNKNOWN, for the operators who resolve them. An index of candidates
 * (every job that ever got JobOutcomeUnknown) is read from the event log, from position 0 at the
 * first request of the process and incrementally after; each candidate's stream is then folded,
 * so what is listed is the job's state now (a resolved job, or one a late worker report
 * completed, drops out of the index for good: UNKNOWN is never entered twice). The first request
 * of a process scans the log for that one event type; unknown jobs are rare, so the per-request
 * cost is one stream read per job that is UNKNOWN now. Candidates are keyed by their stream, i.e.
 * by (tenant, job id); a job is listed only to a caller who may read it (`mayReadJob`, as every
 * read by id), and the caller's tenants are checked before its stream is read.
 */
@QueryHandler(UnknownJobsQuery)
export class UnknownJobsHandler implements IQueryHandler<UnknownJobsQuery> {
  private readonly reader: LogReader<SignoffEvent>;
  /** Stream ids of the jobs that ever got JobOutcomeUnknown. */
  private readonly candidates = new Set<string>();
  private reading: Promise<void> | null = null;

  constructor(
    store: EventStore,
    private readonly commands: JobCommandHandler,
  ) {
    this.reader = store.readFromStart<SignoffEvent>({ filter: { eventTypes: ['JobOutcomeUnknown'] }, batchSize: 5000 });
  }

  /** The UNKNOWN jobs the caller may read, oldest first; `tenant`: only that tenant's. */
  async execute({ principal, tenant }: UnknownJobsQuery): Promise<UnknownJobsPage> {
    await this.catchUp();
    const items: UnknownJobItem[] = [];
    for (const stream of [...this.candidates]) {
      const ref = fromJobStreamId(stream);
      if (ref === null || (tenant !== undefined && ref.tenant !== tenant) || !canSeeTenant(principal, ref.tenant)) continue;
      const { state } = await this.commands.load(ref);
      if (state.status !== 'UNKNOWN') {
        if (state.status === 'SUCCEEDED' || state.status === 'FAILED') this.candidates.delete(stream);
        continue;
      }
      if (!mayReadJob(principal, state.job.request)) continue;
      items.push({
        job_id: ref.jobId,
        topic: state.job.request.topic,
        tenant: state.job.request.tenant,
        state: 'UNKNOWN',
        idempotency_key: state.dispatch.idempotency_key,
        attempt: state.dispatch.attempt,
        worker: state.started?.worker ?? null,
        started_at: state.started?.at ?? null,
        reported_by: state.unknown.worker,
        unknown_reason: state.unknown.reason,
        unknown_since: state.unknown.at,
      });
    }
    items.sort((a, b) => a.unknown_since.localeCompare(b.unknown_since) || a.tenant.localeCompare(b.tenant) || a.job_id.localeCompare(b.job_id));
    return { items: items.slice(0, MAX_UNKNOWN_ITEMS), truncated: items.length > MAX_UNKNOWN_ITEMS };
  }

  /** One reader at a time: concurrent requests share the catch-up under way. */
  private catchUp(): Promise<void> {
    this.reading ??= this.reader
      .catchUp((event) => {
        // Only an event filed in its own job's stream names a job.
        const ref = fromJobStreamId(event.streamId);
        if (ref !== null && (event as JobEvent).data.job_id === ref.jobId) this.candidates.add(toJobStreamId(ref));
      })
      .then(() => undefined)
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}
