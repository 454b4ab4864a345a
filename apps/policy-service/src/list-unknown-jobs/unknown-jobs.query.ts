import { Injectable } from '@nestjs/common';
import { fromJobStreamId, JobEvent, SignoffEvent, toJobStreamId } from '@signoff/contracts';
import { JobCommandHandler } from '@signoff/core';
import { EventStore, LogReader } from '@signoff/event-store';
import { canSeeTenant, mayReadJob, Principal } from '@signoff/runtime';

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
@Injectable()
export class UnknownJobsQuery {
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
  async list(principal: Principal, tenant?: string): Promise<{ items: UnknownJobItem[]; truncated: boolean }> {
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
