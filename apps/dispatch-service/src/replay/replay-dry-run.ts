import type { SignoffEvent } from '@signoff/contracts';
import type { EventStore } from '@signoff/event-store';
import { DEFAULT_MAX_ATTEMPTS } from '../dispatch.options';
import { DISPATCH_LOG_EVENT_TYPES, DispatchStatusProjection, ReplayCandidate } from './dispatch-status.projection';

export interface ReplayDryRunOptions {
  readonly store: EventStore;
  /** DISPATCH_GRACE_MS of the dispatch service. */
  readonly graceMs: number;
  /** WORKER_ACK_TIMEOUT_MS of the dispatch service. */
  readonly workerAckTimeoutMs: number;
  /** WORKER_RUN_TIMEOUT_MS of the dispatch service. */
  readonly workerRunTimeoutMs: number;
  readonly maxAttempts?: number;
  /** Default: now. */
  readonly now?: Date;
}

/**
 * `npm run cli -- replay --dry-run`: the jobs the replay consumer would replay (or abandon) now,
 * read from the event log exactly as the consumer reads it, without writing or publishing
 * anything. Longest overdue first.
 */
export async function listReplayCandidates(options: ReplayDryRunOptions): Promise<ReplayCandidate[]> {
  const projection = new DispatchStatusProjection();
  await options.store
    .readFromStart<SignoffEvent>({ filter: { eventTypes: DISPATCH_LOG_EVENT_TYPES }, batchSize: 5000 })
    .catchUp((event) => projection.apply(event));
  return projection.stuck({
    graceMs: options.graceMs,
    workerAckTimeoutMs: options.workerAckTimeoutMs,
    workerRunTimeoutMs: options.workerRunTimeoutMs,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    now: (options.now ?? new Date()).getTime(),
  });
}
