import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandMetadata, GrantVoidedOutcome, isReleased, ReleasedJobState, ReplayClaimedOutcome } from '@signoff/approvals';
import { describeJobRef, ErrorCode, JobRef, SignoffTopics, toJobStreamId } from '@signoff/contracts';
import { Clock, commandMetadata, JobCommandHandler, latestTraceparent, LoadedJob, newCommandId, SIGNOFF_TOPICS } from '@signoff/core';
import { encodeValue, MessageBus, PublishedRecord } from '@signoff/messaging';
import { continueTrace, inSpan, SignoffMetrics, TRACEPARENT_HEADER, traceparentOf, tracingEnabled } from '@signoff/observability';
import { SpanKind } from '@opentelemetry/api';
import { DISPATCH_OPTIONS, FaultPoint, ResolvedDispatchOptions } from '../dispatch.options';
import { DispatchLog } from '../replay/dispatch-log';
import { BatchingPublisher, isPermanentPublishError, PermanentPublishError } from './batching.publisher';
import { DispatchGrantSigner } from './dispatch-grant.signer';
import { claimDispatchCommand, recordDispatchCommand } from './dispatch-job.builders';
import { releasedAt, toDispatchMessage } from './dispatch-message';
import { KeyedLock } from './keyed-lock';

/** What one dispatch call did. */
export type DispatchResult =
  /** Published and recorded (JobDispatched). */
  | { readonly status: 'dispatched'; readonly job_id: string; readonly attempt: number; readonly partition: number; readonly offset: string }
  /** Published, but the attempt had been recorded or superseded meanwhile (the publish is a harmless duplicate). */
  | { readonly status: 'published_late'; readonly job_id: string; readonly attempt: number }
  /** Another dispatcher holds the current attempt, or the job is past dispatch: nothing published. */
  | { readonly status: 'claim_lost'; readonly job_id: string; readonly attempt: number; readonly claimed_by: string | null }
  /** The job may not be dispatched (unknown, denied, not approved, rejected, expired, invalidated). */
  | { readonly status: 'refused'; readonly job_id: string; readonly code: ErrorCode; readonly message: string }
  /** The log voided the grant (another policy was active at its position): ApprovalInvalidated recorded, nothing published. */
  | { readonly status: 'invalidated'; readonly job_id: string; readonly expected: string; readonly current: string }
  /** The grant is not readable in the global log yet, so it cannot be judged: nothing done; the replay consumer takes it up. */
  | { readonly status: 'deferred'; readonly job_id: string };

/** How a dispatch is asked for. */
export interface DispatchOptions {
  /**
   * The job was announced as approved: its grant will need the log's fact (step 0) unless a claim
   * confirmed it already, so the log is read while the job's stream is, instead of after it. A
   * hint only: the fact is still taken from the projection for this very grant, as without it.
   */
  readonly readLogAhead?: boolean;
}

/** Largest dispatch message value sent (Kafka's default `max.message.bytes` is 1 MiB + 12). */
export const MAX_DISPATCH_VALUE_BYTES = 1024 * 1024 - 2048;

/**
 * Publishes a released job's current attempt once:
 * 0. an approved job never claimed: read from the global log which policy was active at its
 *    grant's position (DispatchLog); the claim carries that fact and the decider voids a grant
 *    the log does not confirm (ApprovalInvalidated, DESIGN section 12) instead of claiming it;
 * 1. claim it in the job's stream (DispatchClaimed, expected revision: one instance wins; the
 *    idempotency key, random, is fixed by the first claim and reused by every later attempt);
 * 2. sign its grant (the control plane's Ed25519 key, DESIGN section 12) and publish to
 *    `signoff.jobs.dispatch` (idempotent producer, acks from all in-sync replicas);
 * 3. record JobDispatched with the partition and offset.
 * A crash between 1 and 2 leaves a claim without a publish, a crash between 2 and 3 a publish
 * without a record: the replay consumer finds both after the grace period and opens the next
 * attempt, with the same key, so the worker runs the side effect once.
 */
@Injectable()
export class JobDispatcher {
  private readonly logger = new Logger('JobDispatcher');
  private readonly lock = new KeyedLock();
  private readonly publisher: BatchingPublisher;
  /** `${streamId}#${attempt}` of attempts claimed here whose publish the broker refused for good. */
  private readonly undeliverable = new Set<string>();

  constructor(
    private readonly commands: JobCommandHandler,
    private readonly log: DispatchLog,
    bus: MessageBus,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    @Inject(SIGNOFF_TOPICS) private readonly topics: SignoffTopics,
    @Inject(DISPATCH_OPTIONS) private readonly options: ResolvedDispatchOptions,
    private readonly grants: DispatchGrantSigner,
  ) {
    this.publisher = new BatchingPublisher(bus, topics.dispatch);
  }

  /** This instance's claimant name. */
  get instanceId(): string {
    return this.options.instanceId;
  }

  /** True while this instance is dispatching the job (the replay scanner leaves it alone). */
  inFlight(ref: JobRef): boolean {
    return this.lock.busy(toJobStreamId(ref));
  }

  /** True when this instance claimed the attempt and the broker refused its message for good. */
  isUndeliverable(ref: JobRef, attempt: number): boolean {
    return this.undeliverable.has(`${toJobStreamId(ref)}#${attempt}`);
  }

  /**
   * Claims, publishes and records the job's current attempt (see the class comment). Throws when
   * the store or the broker fails: the caller retries (the bus redelivers the notification, the
   * replay scanner looks again), and a retry by this same instance re-claims its own attempt
   * without opening a new one. `known`: the job as the caller just read or wrote it (saves a read;
   * a stale one only costs a reload).
   */
  dispatch(ref: JobRef, correlationId: string = randomUUID(), known?: LoadedJob, options: DispatchOptions = {}): Promise<DispatchResult> {
    return this.lock.run(toJobStreamId(ref), () => this.claimPublishRecord(ref, correlationId, known, options));
  }

  /**
   * Publishes and records an attempt the caller claimed for this instance in its own append (a
   * replay that claimed the attempt it opened, DispatchReplayed and DispatchClaimed in one append):
   * steps 2 and 3 of the class comment. `afterClaim`: the state and revision that append left;
   * `claimId`: the command that appended the claim (the record's causation). When another dispatch
   * of the job by this instance is queued or running, that one may have published the claimed
   * attempt already, so the job is read again and goes through {@link dispatch} instead.
   */
  dispatchClaimed(ref: JobRef, correlationId: string, afterClaim: LoadedJob, claimed: ReplayClaimedOutcome, claimId: string): Promise<DispatchResult> {
    const stream = toJobStreamId(ref);
    if (this.lock.busy(stream) || !isReleased(afterClaim.state)) return this.dispatch(ref, correlationId);
    const state = afterClaim.state;
    return this.lock.run(stream, () => this.traced(ref, afterClaim, () => this.publishAndRecord(ref, correlationId, state, afterClaim.revision, claimed, claimId)));
  }

  /** This dispatcher's command metadata in the dispatch `correlationId` serves (a fresh command id unless given). */
  private metadata(correlationId: string, ids: { commandId?: string; causationId?: string }): CommandMetadata {
    return commandMetadata(this.clock, { actor: this.options.instanceId, correlationId, ...ids });
  }

  private async claimPublishRecord(ref: JobRef, correlationId: string, known: LoadedJob | undefined, options: DispatchOptions): Promise<DispatchResult> {
    // Settled either way (a failed read is read again by the grant check): never an unhandled rejection.
    const logAhead = options.readLogAhead ? this.log.catchUp().catch(() => 0) : undefined;
    const loaded = known ?? (await this.commands.load(ref));
    return this.traced(ref, loaded, () => this.dispatchLoaded(ref, correlationId, loaded, logAhead));
  }

  /**
   * Tracing: a dispatch notified on Kafka is inside the message's `process` span; a replay has
   * none and continues the job's trace from the newest `traceparent` in its events.
   */
  private traced(ref: JobRef, loaded: LoadedJob, work: () => Promise<DispatchResult>): Promise<DispatchResult> {
    return continueTrace(tracingEnabled() ? latestTraceparent(loaded.events) : undefined, () =>
      inSpan('dispatch job', { attributes: { 'signoff.job.id': ref.jobId, 'signoff.tenant': ref.tenant } }, async (span) => {
        const result = await work();
        span.setAttribute('signoff.dispatch.status', result.status);
        if ('attempt' in result) span.setAttribute('signoff.dispatch.attempt', result.attempt);
        return result;
      }),
    );
  }

  private async dispatchLoaded(ref: JobRef, correlationId: string, loaded: LoadedJob, logAhead?: Promise<unknown>): Promise<DispatchResult> {
    const jobId = ref.jobId;
    // 0. the log's fact about an approval's grant, read before the first claim
    const grantCheck = await this.log.grantCheck(ref, loaded.state, undefined, logAhead);
    if (grantCheck === null) {
      this.logger.warn(`job ${describeJobRef(ref)}: its grant is not readable in the event log yet; the replay consumer will judge and dispatch it`);
      return { status: 'deferred', job_id: jobId };
    }

    // 1. claim the current attempt
    // One command id for every try of the claim (its events' ids derive from it).
    const claimId = newCommandId();
    const claim = await this.commands.execute(
      ref,
      (state) => claimDispatchCommand({ ref, grantCheck, claimedBy: this.options.instanceId, metadata: this.metadata(correlationId, { commandId: claimId }) }, state),
      { loaded },
    );
    if (!claim.result.ok) {
      return { status: 'refused', job_id: jobId, code: claim.result.code, message: claim.result.message };
    }
    const outcome = claim.result.outcome;
    if (outcome.status === 'claim_lost') {
      return { status: 'claim_lost', job_id: jobId, attempt: outcome.attempt, claimed_by: outcome.claimed_by };
    }
    if (outcome.status === 'invalidated') {
      for (const event of claim.appended) this.log.projection.apply({ ...event, streamId: toJobStreamId(ref) });
      this.grantVoided(ref, outcome);
      return { status: 'invalidated', job_id: jobId, expected: outcome.expected, current: outcome.current };
    }
    if (!isReleased(claim.state)) throw new Error(`job ${describeJobRef(ref)} was claimed but is not released`);
    return this.publishAndRecord(ref, correlationId, claim.state, claim.revision, outcome, claimId);
  }

  /** Steps 2 and 3: sign and publish the attempt `outcome` claimed (`state`, `revision`: after the claim), record the publish. */
  private async publishAndRecord(
    ref: JobRef,
    correlationId: string,
    state: ReleasedJobState,
    revision: LoadedJob['revision'],
    outcome: ReplayClaimedOutcome,
    claimId: string,
  ): Promise<DispatchResult> {
    const jobId = ref.jobId;
    this.fault('crash-after-claim', jobId);

    // 2. sign and publish the claimed attempt
    const record = await this.publish(ref, state);
    this.fault('crash-after-publish', jobId);
    this.metrics.jobsDispatched.inc();

    // 3. record the publish, deciding on the state the claim left (no read; a conflict reloads)
    const afterClaim: LoadedJob = { state, revision, events: [] };
    const recorded = await this.commands.execute(
      ref,
      () => recordDispatchCommand({ jobId, claimed: outcome, record, metadata: this.metadata(correlationId, { causationId: claimId }) }),
      { loaded: afterClaim },
    );
    if (!recorded.result.ok || recorded.result.outcome.status !== 'dispatched') {
      // A replay by another instance opened a later attempt meanwhile, or the publish of this
      // attempt was recorded already: the message just sent is a duplicate the worker absorbs.
      this.logger.warn(
        `job ${describeJobRef(ref)} attempt ${outcome.attempt} was published to ${record.topic}[${record.partition}]@${record.offset} but not recorded: ` +
          (recorded.result.ok ? recorded.result.outcome.status : recorded.result.message),
      );
      return { status: 'published_late', job_id: jobId, attempt: outcome.attempt };
    }
    this.observeApprovalToDispatch(state);
    return { status: 'dispatched', job_id: jobId, attempt: outcome.attempt, partition: record.partition, offset: record.offset };
  }

  private async publish(ref: JobRef, state: ReleasedJobState): Promise<PublishedRecord> {
    const key = `${toJobStreamId(ref)}#${state.dispatch.attempt}`;
    try {
      const message = toDispatchMessage(state, await this.grants.sign(state));
      const size = encodeValue(message.value).length;
      if (size > MAX_DISPATCH_VALUE_BYTES) {
        throw new PermanentPublishError(`the dispatch message of job ${describeJobRef(ref)} is ${size} bytes; the limit is ${MAX_DISPATCH_VALUE_BYTES}`);
      }
      // The message carries this job's `send` span (the batch it travels in is several jobs'),
      // so the worker's spans continue the job's trace.
      const record = await inSpan(
        `send ${this.topics.dispatch}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'kafka',
            'messaging.operation.type': 'send',
            'messaging.operation.name': 'send',
            'messaging.destination.name': this.topics.dispatch,
            'messaging.kafka.message.key': message.key,
            'signoff.dispatch.attempt': state.dispatch.attempt,
          },
        },
        async (span) => {
          const traceparent = traceparentOf(span);
          const published = await this.publisher.publish(traceparent ? { ...message, headers: { ...message.headers, [TRACEPARENT_HEADER]: traceparent } } : message);
          span.setAttribute('messaging.destination.partition.id', String(published.partition));
          span.setAttribute('messaging.kafka.offset', Number(published.offset));
          return published;
        },
      );
      this.undeliverable.delete(key);
      return record;
    } catch (error) {
      if (isPermanentPublishError(error)) {
        this.undeliverable.add(key);
        this.logger.error(`job ${describeJobRef(ref)} attempt ${state.dispatch.attempt} cannot be published: ${(error as Error).message}`);
      }
      throw error;
    }
  }

  /**
   * Counts and reports a grant the log voided (by a claim here or a replay by the replay
   * consumer): `signoff_approvals_snapshot_mismatch_total`, as a refused approve is counted.
   */
  grantVoided(ref: JobRef, outcome: GrantVoidedOutcome): void {
    this.metrics.approvalsSnapshotMismatch.inc();
    this.logger.warn(
      `job ${describeJobRef(ref)}: approval invalidated, never dispatched: it was granted under ${outcome.expected} ` +
        `but ${outcome.current} was the active policy at its position in the event log (snapshot_changed)`,
    );
  }

  /** Forgets what this instance knew about a job that left the dispatch path. */
  forget(ref: JobRef, attempt: number): void {
    this.undeliverable.delete(`${toJobStreamId(ref)}#${attempt}`);
  }

  /**
   * Approval -> first publish. Later attempts after a recorded publish (worker silent) are not
   * observed again, so the histogram shows how long approved work waited to reach workers.
   */
  private observeApprovalToDispatch(state: ReleasedJobState): void {
    if (!state.approval) return;
    if (state.dispatch.replays.some((r) => r.reason === 'not_acknowledged')) return;
    const seconds = (this.clock.now().getTime() - Date.parse(releasedAt(state))) / 1000;
    if (Number.isFinite(seconds) && seconds >= 0) this.metrics.approvalToDispatchSeconds.observe(seconds);
  }

  private fault(point: FaultPoint, jobId: string): void {
    const fault = this.options.fault;
    if (!fault || fault.point !== point || (fault.jobId !== undefined && fault.jobId !== jobId)) return;
    // TEST ONLY (SIGNOFF_FAULT): die here as a crash would, with no shutdown hook running.
    process.stderr.write(`SIGNOFF_FAULT=${point}: killing dispatcher ${process.pid} while dispatching job ${jobId}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

