import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { describeJobRef, JobRef, toJobStreamId } from '@signoff/contracts';
import { Clock, commandMetadata, JobCommandHandler, latestTraceparent, LoadedJob, newCommandId, SIGNOFF_CONFIG } from '@signoff/core';
import { continueTrace, HealthRegistry, inSpan, SignoffMetrics, tracingEnabled } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';
import { Counter } from 'prom-client';
import { DISPATCH_OPTIONS, ResolvedDispatchOptions } from '../dispatch.options';
import { newIdempotencyKey } from '../dispatch/dispatch-message';
import { JobDispatcher } from '../dispatch/job-dispatcher';
import { DispatchLog } from './dispatch-log';
import { DispatchStatusProjection, ReplayCandidate } from './dispatch-status.projection';
import { replayDispatchCommand } from './replay-dispatch.builder';

/** Candidates handled per scan round; the log is read between rounds so the index stays fresh. */
const MAX_PER_ROUND = 10_000;

/** What one scan did. */
export interface ScanReport {
  readonly candidates: number;
  readonly replayed: number;
  readonly redispatched: number;
  readonly abandoned: number;
  /** Attempts exhausted for a job a worker had started: recorded JobOutcomeUnknown. */
  readonly unknown: number;
  /** Moved on by someone else since the projection saw them (nothing to do). */
  readonly skipped: number;
  /** Approved jobs never claimed whose grant the log voided (ApprovalInvalidated instead of a replay). */
  readonly invalidated: number;
  readonly failed: number;
}

type HandleOutcome = 'replayed' | 'redispatched' | 'abandoned' | 'unknown' | 'skipped' | 'invalidated';

/**
 * The replay consumer (the article's recovery path, DESIGN invariant 4). It keeps the
 * dispatch-status projection current from the event log (rebuilt from position 0 at start) and
 * scans it right after start and then every `scanIntervalMs` for jobs stuck at any stage:
 * - PENDING with no claim for longer than DISPATCH_GRACE_MS (the dispatcher was down, or the
 *   notification was lost) -> reason `not_published`;
 * - claimed by another instance but not recorded as published for longer than the grace (that
 *   dispatcher died between claim and publish, or between publish and record) -> `not_recorded`;
 * - published with no JobStarted/JobCompleted within WORKER_ACK_TIMEOUT_MS (workers down) ->
 *   `not_acknowledged`;
 * - started (a worker reported `started`) with no outcome within WORKER_RUN_TIMEOUT_MS (the worker
 *   died mid-run, or the `started` was lost or forged) -> `not_completed`. The worker that gets the
 *   new attempt reports the stored outcome, waits for a live claim, or applies the takeover rules
 *   of the worker SDK (run again when that is safe, else mark the outcome unknown).
 * Each gets ReplayDispatch (DispatchReplayed, attempt + 1, decided again on the job's stream),
 * which claims the new attempt for this instance in the same append (DispatchClaimed: the claim
 * fences other dispatchers as a separate one would), and is then published again with the same
 * idempotency key. Past `maxAttempts` the
 * decider records DispatchAbandoned instead: a terminal, visible state (API `FAILED`), an error
 * log and `signoff_jobs_dispatch_abandoned_total`, so replays cannot hide a capacity problem; a job
 * a worker had started gets JobOutcomeUnknown instead (API `UNKNOWN`, for an operator), because
 * its side effect may have happened.
 * An attempt this instance claimed itself and could not publish because the broker was
 * unreachable is retried as the same attempt: a broker outage burns no attempts.
 * An approved job never claimed carries the log's fact about its grant (the policy active at the
 * grant's position, from the projection) into ReplayDispatch: a grant the log voids is
 * invalidated, never replayed (DESIGN section 12).
 */
@Injectable()
export class ReplayConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ReplayConsumer');
  private readonly abandonedTotal: Counter;
  private readonly unknownTotal: Counter;
  private readonly intervalMs: number;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private caughtUpOnce = false;

  constructor(
    private readonly log: DispatchLog,
    private readonly commands: JobCommandHandler,
    private readonly dispatcher: JobDispatcher,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    private readonly health: HealthRegistry,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
    @Inject(DISPATCH_OPTIONS) private readonly options: ResolvedDispatchOptions,
  ) {
    this.intervalMs = options.scanIntervalMs ?? Math.min(1000, Math.max(50, Math.floor(config.dispatchGraceMs / 4)));
    const name = 'signoff_jobs_dispatch_abandoned_total';
    this.abandonedTotal =
      (metrics.registry.getSingleMetric(name) as Counter | undefined) ??
      new Counter({
        name,
        help: 'Dispatches given up after the maximum number of attempts (DispatchAbandoned): a capacity or delivery problem.',
        registers: [metrics.registry],
      });
    this.unknownTotal = outcomeUnknownCounter(metrics);
  }

  onApplicationBootstrap(): void {
    if (!this.options.replay) return;
    // Not ready until the projection has read the whole log once: before that, stuck jobs are unseen.
    this.health.register('replay-consumer', async () => {
      if (!this.caughtUpOnce) throw new Error('the dispatch-status projection is still being rebuilt from the event log');
    });
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  /** The dispatch-status projection (shared with the dispatcher through {@link DispatchLog}). */
  get projection(): DispatchStatusProjection {
    return this.log.projection;
  }

  /** True once the projection has read the whole log at least once since start. */
  get ready(): boolean {
    return this.caughtUpOnce;
  }

  /** Rebuilds the projection from position 0 of the log. */
  async rebuild(): Promise<number> {
    const read = await this.log.rebuild();
    this.caughtUpOnce = true;
    return read;
  }

  /** Reads the log up to now into the projection. */
  async catchUp(): Promise<number> {
    const read = await this.log.catchUp();
    this.caughtUpOnce = true;
    return read;
  }

  /** What the consumer would do now (nothing is changed). */
  candidates(): ReplayCandidate[] {
    return this.projection.stuck({
      graceMs: this.config.dispatchGraceMs,
      workerAckTimeoutMs: this.config.workerAckTimeoutMs,
      workerRunTimeoutMs: this.config.workerRunTimeoutMs,
      maxAttempts: this.options.maxAttempts,
      now: this.clock.now().getTime(),
    });
  }

  /** One scan: catch up with the log, then replay every stuck job (in rounds). */
  async scanOnce(): Promise<ScanReport> {
    const report = { candidates: 0, replayed: 0, redispatched: 0, abandoned: 0, unknown: 0, skipped: 0, invalidated: 0, failed: 0 };
    // Each job is handled at most once per scan, whatever the projection says after a round.
    const attempted = new Set<string>();
    for (;;) {
      await this.catchUp();
      const round = this.candidates()
        .filter((c) => !attempted.has(toJobStreamId(refOf(c))) && !this.dispatcher.inFlight(refOf(c)))
        .slice(0, MAX_PER_ROUND);
      for (const c of round) attempted.add(toJobStreamId(refOf(c)));
      if (round.length === 0 || this.stopping) return report;
      report.candidates += round.length;
      await forEachConcurrently(round, this.options.replayConcurrency, async (candidate) => {
        try {
          const done = await this.handle(candidate);
          report[done] += 1;
        } catch (error) {
          report.failed += 1;
          // Seen again after the grace period, not at the next tick: a failing store or broker is not hammered.
          this.projection.touch(refOf(candidate), this.clock.now().getTime());
          this.logger.warn(`replay of job ${describeJobRef(refOf(candidate))} failed, will retry: ${(error as Error).message}`);
        }
      });
      if (round.length < MAX_PER_ROUND) return report;
    }
  }

  private async handle(candidate: ReplayCandidate): Promise<HandleOutcome> {
    if (!tracingEnabled()) return this.replay(candidate);
    // Tracing: the replay continues the job's trace from its events (read here and handed to the
    // command, so tracing costs no extra read).
    const ref = refOf(candidate);
    const loaded = await this.commands.load(ref);
    return continueTrace(latestTraceparent(loaded.events), () =>
      inSpan('replay job', { attributes: { 'signoff.job.id': ref.jobId, 'signoff.tenant': ref.tenant, 'signoff.replay.reason': candidate.reason } }, async (span) => {
        const outcome = await this.replay(candidate, loaded);
        span.setAttribute('signoff.replay.outcome', outcome);
        return outcome;
      }),
    );
  }

  private async replay(candidate: ReplayCandidate, loaded?: LoadedJob): Promise<HandleOutcome> {
    const ref = refOf(candidate);
    const job = describeJobRef(ref);
    if (
      candidate.stage === 'claimed' &&
      candidate.claimed_by === this.dispatcher.instanceId &&
      !this.dispatcher.isUndeliverable(ref, candidate.attempt)
    ) {
      // Our own claim whose publish failed on a transient broker error: same attempt again.
      await this.dispatcher.dispatch(ref);
      return 'redispatched';
    }
    const commandId = newCommandId();
    const grant = this.projection.get(ref)?.grant;
    // The attempt the replay opens is claimed in the same append (this instance publishes it).
    const claim = { claimed_by: this.dispatcher.instanceId, idempotency_key: newIdempotencyKey(ref) };
    const { result, appended, state, revision } = await this.commands.execute(ref, () =>
      replayDispatchCommand({
        candidate,
        maxAttempts: this.options.maxAttempts,
        runTimeoutMs: this.config.workerRunTimeoutMs,
        ...(grant ? { grant } : {}),
        snapshotMode: this.config.snapshotMode,
        claim,
        metadata: commandMetadata(this.clock, { actor: this.dispatcher.instanceId, commandId }),
      }),
      loaded ? { loaded } : {},
    );
    for (const event of appended) this.projection.apply({ ...event, streamId: toJobStreamId(ref) });
    this.dispatcher.forget(ref, candidate.attempt);
    if (!result.ok) {
      this.logger.warn(`job ${job} cannot be replayed: ${result.code}: ${result.message}`);
      this.projection.touch(ref, this.clock.now().getTime());
      return 'skipped';
    }
    const outcome = result.outcome;
    switch (outcome.status) {
      case 'replayed':
        this.metrics.jobsReplayed.inc();
        this.logger.log(`replaying job ${job} as attempt ${outcome.attempt} (${candidate.reason}, ${candidate.overdue_ms} ms overdue)`);
        if (outcome.claimed) await this.dispatcher.dispatchClaimed(ref, commandId, { state, revision, events: [] }, outcome.claimed, commandId);
        else await this.dispatcher.dispatch(ref, commandId, { state, revision, events: [] });
        return 'replayed';
      case 'abandoned':
        this.abandonedTotal.inc();
        this.logger.error(
          `job ${job} abandoned after ${outcome.attempts} dispatch attempts (max ${outcome.max_attempts}, last stuck ${candidate.reason}): ` +
            'check worker capacity and the dispatch topic',
        );
        return 'abandoned';
      case 'outcome_unknown':
        this.unknownTotal.inc();
        this.logger.error(
          `job ${job}: no outcome after ${outcome.attempts} dispatch attempts (max ${outcome.max_attempts}) although a worker started it: ` +
            'recorded JobOutcomeUnknown; an operator resolves it (POST /api/v1/jobs/:id/resolve?tenant=)',
        );
        return 'unknown';
      case 'invalidated':
        this.dispatcher.grantVoided(ref, outcome);
        return 'invalidated';
      case 'already_replayed':
      case 'already_abandoned':
      case 'not_needed':
        // Someone else moved the job on since the projection saw it.
        return 'skipped';
      default: {
        const _exhaustive: never = outcome;
        return 'skipped';
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const report = await this.scanOnce();
        if (report.candidates > 0) {
          this.logger.log(
            `scan: ${report.replayed} replayed, ${report.redispatched} re-published, ${report.abandoned} abandoned, ` +
              `${report.unknown} outcome unknown, ${report.invalidated} invalidated (grant void in log order), ${report.failed} failed`,
          );
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        this.logger.warn(`replay scan failed (${failures} in a row): ${(error as Error).message}`);
      }
      await this.sleep(failures === 0 ? this.intervalMs : Math.min(this.intervalMs * 2 ** failures, 10_000));
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** `signoff_jobs_outcome_unknown_total`: jobs that became UNKNOWN (one registration per registry). */
export function outcomeUnknownCounter(metrics: SignoffMetrics): Counter {
  const name = 'signoff_jobs_outcome_unknown_total';
  return (
    (metrics.registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({
      name,
      help: 'Jobs whose outcome became unknown (JobOutcomeUnknown): a lease lost after the side effect began, or replays exhausted after a start. An operator resolves them.',
      registers: [metrics.registry],
    })
  );
}

/** The job a replay candidate names. */
function refOf(candidate: ReplayCandidate): JobRef {
  return { tenant: candidate.tenant, jobId: candidate.job_id };
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function forEachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(lanes);
}
