import { Inject, Injectable } from '@nestjs/common';
import { GrantCheck, grantAwaitingLogCheck, GrantLogFact, JobAggregateState } from '@signoff/approvals';
import { JobRef, SignoffEvent } from '@signoff/contracts';
import { SIGNOFF_CONFIG } from '@signoff/core';
import { EventStore, LogReader } from '@signoff/event-store';
import { SignoffConfig } from '@signoff/runtime';
import { DISPATCH_LOG_EVENT_TYPES, DispatchStatusProjection } from './dispatch-status.projection';

/** How long a dispatch waits for an approved job's grant to become readable in the global log. */
export const GRANT_READ_WAIT_MS = 1000;

const noop = (): void => undefined;

/** Events per log read. */
const DISPATCH_LOG_BATCH = 20_000;

/**
 * The dispatch service's one reader of the global log: the dispatch-status projection (rebuilt
 * from position 0 at every start), read by the replay consumer's scans and, on demand, by the
 * dispatcher, which needs the log's fact about an approved job's grant before its first claim
 * (DESIGN section 12: the log decides races between streams).
 *
 * Reads never overlap: a call made while a read runs waits for the next read, which starts when
 * the running one ends, so it sees everything appended before the call, and a burst of
 * notifications costs one read, not one per job.
 */
@Injectable()
export class DispatchLog {
  readonly projection = new DispatchStatusProjection();
  private readonly reader: LogReader<SignoffEvent>;
  private current: Promise<number> | null = null;
  private next: Promise<number> | null = null;
  private resetPending = false;

  constructor(
    store: EventStore,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
  ) {
    this.reader = store.readFromStart<SignoffEvent>({ filter: { eventTypes: DISPATCH_LOG_EVENT_TYPES }, batchSize: DISPATCH_LOG_BATCH });
  }

  /** Reads the log up to now into the projection; resolves with how many events were read. */
  catchUp(): Promise<number> {
    // A queued read has not started yet: it will see what this caller needs.
    if (this.next !== null) return this.next;
    if (this.current === null) return this.start();
    this.next = this.current.then(noop, noop).then(() => {
      this.next = null;
      return this.start();
    });
    return this.next;
  }

  /** Rebuilds the projection from position 0 of the log (after any read in flight). */
  rebuild(): Promise<number> {
    this.resetPending = true;
    return this.catchUp();
  }

  /**
   * What the decider needs to judge a job's grant before its first claim: the policy active at the
   * ApprovalGranted's place in the global log, and SNAPSHOT_MODE. `{}` when there is nothing to
   * judge (an allowed job, or a grant confirmed by an earlier claim). Null when the grant is not
   * readable in the log within `waitMs`: the log only shows events that nothing can be ordered
   * before any more (on PostgreSQL, a transaction still open anywhere holds that line), so the
   * grant cannot be judged yet; the replay consumer judges it once the projection reads it.
   * `readAhead`: a read of the log the caller started already (while it read the job's stream):
   * awaited before the projection is asked, so it is not followed by a second read needlessly.
   */
  async grantCheck(ref: JobRef, state: JobAggregateState, waitMs = GRANT_READ_WAIT_MS, readAhead?: Promise<unknown>): Promise<GrantCheck | null> {
    const approval = grantAwaitingLogCheck(state);
    if (approval === null) return {};
    if (readAhead !== undefined) await readAhead.catch(noop);
    const fact = await this.grantFact(ref, approval.grant.approval_id, waitMs);
    return fact === null ? null : { grant_fact: fact, snapshot_mode: this.config.snapshotMode };
  }

  /** The projection's fact about the grant `approvalId` of the job `ref`, reading the log until it has one or `waitMs` passed. */
  private async grantFact(ref: JobRef, approvalId: string, waitMs: number): Promise<GrantLogFact | null> {
    const deadline = Date.now() + waitMs;
    for (let round = 0; ; round++) {
      const grant = this.projection.get(ref)?.grant;
      if (grant?.approval_id === approvalId) return grant;
      if (round > 0) {
        if (Date.now() >= deadline) return null;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 ** round)));
      }
      await this.catchUp();
    }
  }

  private start(): Promise<number> {
    if (this.resetPending) {
      this.resetPending = false;
      this.reader.reset();
      this.projection.clear();
    }
    const read: Promise<number> = this.reader.catchUp((event) => this.projection.apply(event)).finally(() => {
      if (this.current === read) this.current = null;
    });
    this.current = read;
    return read;
  }
}
