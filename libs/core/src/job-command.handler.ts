import { Injectable } from '@nestjs/common';
import {
  DecideResult,
  decide,
  foldJob,
  identifyEvents,
  JobAggregateState,
  JobCommand,
  JobOutcomeMap,
} from '@signoff/approvals';
import { describeJobRef, isValidJobRef, JobEvent, JobRef, SignoffError, toJobStreamId } from '@signoff/contracts';
import { DuplicateEventIdError, EventStore, EventStoreError, RecordedEvent, WrongExpectedVersionError } from '@signoff/event-store';
import { currentTraceparent, inSpan, SignoffMetrics } from '@signoff/observability';
import { SpanKind } from '@opentelemetry/api';
import { storeErrorToSignoffError } from './store-errors';

/** A job's folded state and the revision it was read at. */
export interface LoadedJob {
  readonly state: JobAggregateState;
  /** Revision of the stream's last event, or 'no_stream'. */
  readonly revision: bigint | 'no_stream';
  readonly events: readonly RecordedEvent<JobEvent>[];
  /**
   * The stream holds a job of another tenant than the one it was read for (a stream written
   * before job ids were scoped by tenant, when every tenant's job was `job-<id>`): no job of this
   * reference. Its state is `initial` and commands on it are refused `not_found`, never appended.
   */
  readonly foreign?: true;
}

export interface ExecuteResult<C extends JobCommand> {
  readonly result: DecideResult<JobOutcomeMap[C['type']]>;
  /** The state after the command (the loaded state when nothing was appended). */
  readonly state: JobAggregateState;
  /** The events this call appended (empty for refusals and idempotent repeats). */
  readonly appended: readonly JobEvent[];
  /** The stream's revision after the command (the loaded one when nothing was appended). */
  readonly revision: bigint | 'no_stream';
}

/** The state of a job id nobody has written to (a freshly generated id). */
export const NEW_JOB: LoadedJob = Object.freeze({ state: foldJob([]), revision: 'no_stream' as const, events: [] });

/** Jobs whose last state this instance wrote or read (after a conflict) it keeps, oldest dropped first. */
const KNOWN_JOBS = 1024;

/** Bounded retries on expected-version conflicts; then 503 `busy`. */
export const MAX_COMMAND_ATTEMPTS = 12;

/**
 * The one shell around the job decider: read the stream, fold, decide, append with the expected
 * revision. A WrongExpectedVersionError means someone else wrote first: reload and decide again
 * (bounded, with jittered back-off), so concurrent approves serialize on the stream and the losers
 * become `already_approved`. The command is built from the loaded state on each attempt, so
 * whatever it checks (active policy, current hash) is checked against what is being appended to.
 */
@Injectable()
export class JobCommandHandler {
  /** `db.system.name` of the append spans. */
  private readonly dbSystem: string;
  /** Reloads after a conflict in flight, by job: concurrent losers of one race share one read. */
  private readonly reloads = new Map<string, Promise<LoadedJob>>();
  /**
   * By job, the state this instance's last append left (or its last reload read) and its
   * revision: a reload after a conflict that reported a head at or below it decides on it
   * without a read (the contended approve's losers answer `already_approved` from the winner's
   * state). Bounded; insertion order is age.
   */
  private readonly known = new Map<string, LoadedJob>();

  constructor(
    private readonly store: EventStore,
    private readonly metrics: SignoffMetrics,
  ) {
    this.dbSystem = /kurrent/i.test(store.constructor.name) ? 'kurrentdb' : 'postgresql';
  }

  /** Reads and folds the job's stream (its tenant and job id name it, DESIGN section 12). */
  async load(ref: JobRef): Promise<LoadedJob> {
    // An id no submission could have used (ID_PATTERN, the rule of POST /jobs and the Kafka
    // ingress) names no job: answer "no such job" without asking the store, which would refuse
    // some of them (a NUL byte) as a failure rather than as an absence.
    if (!isValidJobRef(ref)) return NEW_JOB;
    const events = await this.guard(`reading job ${describeJobRef(ref)}`, () => this.store.readStream<JobEvent>(toJobStreamId(ref)));
    const revision = events.length === 0 ? 'no_stream' : events[events.length - 1].revision;
    const state = foldJob(events);
    if (state.status !== 'initial' && state.job.request.tenant !== ref.tenant) return { state: foldJob([]), revision, events: [], foreign: true };
    return { state, revision, events };
  }

  /**
   * Runs a command on the job `ref` names. `options.loaded` lets the first attempt decide on a
   * state the caller just read (or on the empty state of a job id it just made up), saving a
   * round trip; a conflict reloads.
   */
  async execute<C extends JobCommand>(
    ref: JobRef,
    build: (state: JobAggregateState) => C,
    options: { loaded?: LoadedJob } = {},
  ): Promise<ExecuteResult<C>> {
    const stream = toJobStreamId(ref);
    /** After a conflict: the head the conflict reported, which a reload must have reached. */
    let atLeast: bigint | 'no_stream' | null = null;
    for (let attempt = 1; ; attempt++) {
      // 1. read and fold; 2. decide on that state; 3. append expecting that revision.
      const loaded = attempt === 1 && options.loaded ? options.loaded : atLeast !== null ? await this.reload(ref, atLeast) : await this.load(ref);
      if (loaded.foreign) {
        const result = { ok: false, code: 'not_found', message: `job ${describeJobRef(ref)} not found` } as const;
        return { result, state: loaded.state, appended: [], revision: loaded.revision };
      }
      const command = build(loaded.state);
      const result = decide(command, loaded.state) as DecideResult<JobOutcomeMap[C['type']]>;
      if (!result.ok || result.events.length === 0) return { result, state: loaded.state, appended: [], revision: loaded.revision };
      try {
        const events = withTraceparent(identifyEvents(command.metadata.commandId, result.events));
        const { nextRevision } = await this.guard(`appending to job ${describeJobRef(ref)}`, () =>
          inSpan(
            'appendToStream job',
            {
              kind: SpanKind.CLIENT,
              attributes: {
                'db.system.name': this.dbSystem,
                'db.operation.name': 'appendToStream',
                'db.collection.name': 'job',
                'db.operation.batch.size': events.length,
                'signoff.job.id': ref.jobId,
                'signoff.tenant': ref.tenant,
              },
            },
            () => this.store.appendToStream(stream, events, { expectedRevision: loaded.revision }),
          ),
        );
        const state = foldJob(result.events, loaded.state);
        this.remember(ref, { state, revision: nextRevision, events: [] });
        return { result, state, appended: result.events, revision: nextRevision };
      } catch (error) {
        // A duplicate id elsewhere in the stream means an earlier try of this very command landed
        // after all: reload and decide again, which answers it idempotently.
        if (!(error instanceof WrongExpectedVersionError) && !(error instanceof DuplicateEventIdError)) throw error;
        atLeast = error instanceof WrongExpectedVersionError ? error.actual : null;
        this.metrics.approvalConflicts.inc();
        if (attempt >= MAX_COMMAND_ATTEMPTS) {
          throw new SignoffError('busy', 'too much contention on this job; retry shortly', {}, { 'Retry-After': '1' });
        }
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
  }

  /**
   * A load after a conflict that reported the head `atLeast`: joins a reload of the same stream
   * already in flight when that one reaches the head (the N - 1 losers of a race on one job read
   * it once, not N - 1 times), else reads on its own. Any state read from the store is safe to
   * decide on (the append expects its revision); one older than the conflict would only conflict
   * again, so it is not taken.
   */
  private async reload(ref: JobRef, atLeast: bigint | 'no_stream'): Promise<LoadedJob> {
    // Keyed by the reference itself (the tenant decides whether a stream's job is this one's).
    const key = keyOf(ref);
    const known = this.known.get(key);
    if (known !== undefined && revisionReached(known.revision, atLeast)) return known;
    const shared = this.reloads.get(key);
    if (shared !== undefined) {
      const loaded = await shared.catch(() => null);
      if (loaded !== null && revisionReached(loaded.revision, atLeast)) return loaded;
    }
    const own = this.load(ref);
    this.reloads.set(key, own);
    try {
      const loaded = await own;
      if (!loaded.foreign) this.remember(ref, loaded);
      return loaded;
    } finally {
      if (this.reloads.get(key) === own) this.reloads.delete(key);
    }
  }

  /** Keeps `loaded` as the newest known state of the job, unless an older revision than the one kept. */
  private remember(ref: JobRef, loaded: LoadedJob): void {
    const key = keyOf(ref);
    const kept = this.known.get(key);
    if (kept !== undefined && loaded.revision !== 'no_stream' && kept.revision !== 'no_stream' && kept.revision > loaded.revision) return;
    this.known.delete(key);
    this.known.set(key, { state: loaded.state, revision: loaded.revision, events: [] });
    if (this.known.size > KNOWN_JOBS) this.known.delete(this.known.keys().next().value!);
  }

  /**
   * Store errors reach clients as `storeErrorToSignoffError` says: an argument the store refuses
   * is 400 `invalid_request`, an outage 503 `store_unavailable` (never a 500 or a false success),
   * and neither answer carries the driver's text.
   */
  private async guard<T>(doing: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError) throw error;
      if (error instanceof EventStoreError) throw storeErrorToSignoffError(error, doing);
      throw error;
    }
  }
}

function keyOf(ref: JobRef): string {
  return `${ref.tenant}\u0000${ref.jobId}`;
}

function revisionReached(revision: bigint | 'no_stream', atLeast: bigint | 'no_stream'): boolean {
  return atLeast === 'no_stream' || (revision !== 'no_stream' && revision >= atLeast);
}

/**
 * The events with the active span's `traceparent` in their metadata (tracing on and a span
 * active), so whoever reads them back (a relay, the replay consumer) continues the request's
 * trace; else the events unchanged. The domain never sees it: it is stamped here, at the append.
 */
function withTraceparent<E extends { metadata: object }>(events: E[]): E[] {
  const traceparent = currentTraceparent();
  return traceparent ? events.map((event) => ({ ...event, metadata: { ...event.metadata, traceparent } })) : events;
}

/**
 * The newest `traceparent` in a job's events' metadata (unparsed: the reader checks it), or
 * undefined when none carries one: where a replay continues the job's trace.
 */
export function latestTraceparent(events: readonly { readonly metadata: unknown }[]): unknown {
  for (let i = events.length - 1; i >= 0; i--) {
    const traceparent = (events[i].metadata as { traceparent?: unknown } | null)?.traceparent;
    if (traceparent !== undefined) return traceparent;
  }
  return undefined;
}
