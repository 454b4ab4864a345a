import type { JobView } from './api.types';
import { ApprovalStream, isTransient, reconnectDelay } from './approval-stream';
import { Decision, decisionOf } from './decision';
import { sleep } from './http.transport';
import { SignoffApiError } from './signoff-api.error';
import type { SignoffClient, WaitOptions } from './signoff.client';

/** How often a followed stream is backed by a read of the job (a change may have been missed). */
const STREAM_CHECK_MS = 30_000;
/** Failed stream openings in a row after which the wait polls only. */
const MAX_STREAM_FAILURES = 5;

/**
 * `SignoffClient.waitForDecision`: 1. read the job; decided: done. 2. While it waits for
 * reviewers and the token may read the approval stream: open it (live once the headers
 * arrived), read the job again (a change before the stream was live is not missed), and read the
 * job after every change that names it; a stream that ends, stalls or breaks is reopened with
 * `Last-Event-ID`. 3. Otherwise poll, the interval growing by half up to its maximum. Transient
 * failures (no answer, 5xx) never end the wait; the deadline or the signal do.
 */
export async function waitForDecision(client: SignoffClient, jobId: string, options: WaitOptions): Promise<Decision> {
  const until = options.until ?? 'decision';
  const deadline = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const signals = [options.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length > 0 ? AbortSignal.any(signals) : undefined;
  const request = { signal, tenant: options.tenant };
  const maxInterval = options.maxPollIntervalMs ?? 5_000;
  let interval = Math.min(options.pollIntervalMs ?? 500, maxInterval);
  let useStream = options.stream !== 'never';
  let streamFailures = 0;
  let streamDrops = 0;
  let lastEventId: string | undefined;
  let last: JobView | null = null;

  /** The job now, or null after a transient failure. */
  const read = async (): Promise<JobView | null> => {
    try {
      last = await client.get(jobId, request);
      return last;
    } catch (error) {
      if (isTransient(error) && !signal?.aborted) return null;
      throw error;
    }
  };

  /** Follows the approval stream until the job is decided (a decision) or the stream cannot help now ('poll'). */
  const follow = async (topic: string): Promise<Decision | 'poll'> => {
    let stream: ApprovalStream;
    try {
      stream = await ApprovalStream.open(client, { topic: topic.includes('*') ? undefined : topic, lastEventId, signal });
      streamFailures = 0;
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof SignoffApiError && error.code === 'invalid_last_event_id') lastEventId = undefined;
      else if (isTransient(error) && ++streamFailures < MAX_STREAM_FAILURES) await sleep(reconnectDelay(streamFailures), signal);
      else useStream = false; // not a reader of the stream (401, 403), or a server that does not speak it
      return 'poll';
    }
    try {
      let checked = 0;
      let relevant = true; // the first read closes the gap before the stream was live
      for (;;) {
        if (relevant || Date.now() - checked > STREAM_CHECK_MS) {
          checked = Date.now();
          const job = await read();
          if (job) {
            const decision = decisionOf(job, until);
            if (decision) return decision;
            if (job.state !== 'APPROVAL_REQUIRED') return 'poll'; // decided, waiting for dispatch or completion: no approval change will say
          }
        }
        const changes = await stream.read(options.streamIdleMs ?? 45_000);
        lastEventId = stream.lastEventId;
        if (changes === null) break;
        if (changes.length > 0) streamDrops = 0;
        relevant = changes.some((c) => c.approval.job_id === jobId);
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      if (!isTransient(error)) {
        useStream = false; // a stream the client cannot read (garbage, an event past the bounds): poll
        return 'poll';
      }
    } finally {
      lastEventId = stream.lastEventId;
      stream.close();
    }
    // Ended or broke: reopen after a back-off (a server that drops every stream at once is not hammered).
    await sleep(reconnectDelay(++streamDrops), signal);
    return 'poll';
  };

  try {
    for (;;) {
      const job = await read();
      if (job) {
        const decision = decisionOf(job, until);
        if (decision) return decision;
        if (useStream && job.state === 'APPROVAL_REQUIRED') {
          const followed = await follow(job.topic);
          if (followed !== 'poll') return followed;
          continue;
        }
      }
      await sleep(interval, signal);
      interval = Math.min(maxInterval, Math.round(interval * 1.5));
    }
  } catch (error) {
    if (deadline?.aborted && !options.signal?.aborted) {
      const state = (last as JobView | null)?.state;
      throw new SignoffApiError('timeout', `job ${jobId} was not ${until === 'decision' ? 'decided' : `at ${until}`} within ${options.timeoutMs} ms`, 0, state ? { state } : {});
    }
    throw error;
  }
}
