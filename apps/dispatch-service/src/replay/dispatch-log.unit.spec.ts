import type { JobAggregateState } from '@signoff/approvals';
import { ApprovalGrantedData, DEFAULT_TENANT, JobRef, POLICY_STREAM } from '@signoff/contracts';
import { EventStore, LogReader, LogReaderOptions, RecordedEvent } from '@signoff/event-store';
import { describe, expect, it } from 'vitest';
import { testConfig } from '../../../../test/support/app';
import { DispatchLog } from './dispatch-log';

/** A global log in memory whose reads take a few event-loop turns, counting reads running at once. */
class SlowLog {
  readonly events: RecordedEvent[] = [];
  running = 0;
  maxRunning = 0;
  reads = 0;

  append(streamId: string, type: string, data: unknown): void {
    const position = BigInt(this.events.length + 1);
    this.events.push({ id: `e${position}`, streamId, type, data, metadata: {}, revision: 0n, position, createdAt: new Date(0) } as RecordedEvent);
  }

  /** Its `readFromStart`: a reader whose every batch is one slow read. */
  asStore(): EventStore {
    return {
      readFromStart: (options: LogReaderOptions = {}): LogReader => {
        const batchSize = options.batchSize ?? 500;
        let after = 0n;
        const next = async (): Promise<RecordedEvent[]> => {
          this.reads += 1;
          this.running += 1;
          this.maxRunning = Math.max(this.maxRunning, this.running);
          for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
          this.running -= 1;
          const types = options.filter?.eventTypes;
          const batch = this.events.filter((e) => e.position > after && (!types || types.includes(e.type))).slice(0, batchSize);
          if (batch.length > 0) after = batch[batch.length - 1]!.position;
          return batch;
        };
        return {
          next,
          reset: () => {
            after = 0n;
          },
          catchUp: async (apply) => {
            let total = 0;
            for (;;) {
              const batch = await next();
              for (const event of batch) await apply(event);
              total += batch.length;
              if (batch.length < batchSize) return total;
            }
          },
        };
      },
    } as unknown as EventStore;
  }
}

const grant = (jobId: string): ApprovalGrantedData => ({
  job_id: jobId,
  approval_ref: 'r',
  approval_id: `ap-${jobId}`,
  approved_by: ['rita'],
  policy_snapshot: 'p1',
  job_hash: 'h',
  reason: null,
});

const ref = (jobId: string): JobRef => ({ tenant: DEFAULT_TENANT, jobId });

describe('DispatchLog reads', () => {
  it('never overlap, however many callers ask at once or in the gap between two reads, and each caller sees what was appended before it asked', async () => {
    const slow = new SlowLog();
    const log = new DispatchLog(slow.asStore(), testConfig({ EVENT_STORE_URL: 'pglite://memory' }));
    slow.append(POLICY_STREAM, 'PolicyActivated', { snapshot: 'p1' });
    const calls: Promise<number>[] = [];
    for (let i = 0; i < 40; i++) {
      slow.append(`job-j${i}`, 'ApprovalGranted', grant(`j${i}`));
      const asked = i;
      calls.push(log.catchUp().then((n) => (expect(log.projection.get(ref(`j${asked}`))).toBeDefined(), n)));
      if (i % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (i % 7 === 0) await Promise.resolve();
    }
    await Promise.all(calls);
    expect(slow.maxRunning).toBe(1);
    expect(slow.reads).toBeLessThan(40);
    expect(log.projection.size).toBe(40);
    expect(log.projection.get(ref('j0'))?.grant).toEqual({ approval_id: 'ap-j0', active_policy_snapshot: 'p1' });
  });

  it('a grant check after a read started ahead (while the stream was read) takes the fact from that read, with no second read', async () => {
    /** An approved job never claimed, as far as the grant check looks (its grant awaits the log). */
    const awaiting = (jobId: string) =>
      ({ status: 'PENDING', approval: { grant: { approval_id: `ap-${jobId}` } }, dispatch: { idempotency_key: null } }) as unknown as JobAggregateState;
    const slow = new SlowLog();
    const log = new DispatchLog(slow.asStore(), testConfig({ EVENT_STORE_URL: 'pglite://memory' }));
    slow.append(POLICY_STREAM, 'PolicyActivated', { snapshot: 'p1' });
    slow.append('job-a', 'ApprovalGranted', grant('a'));
    const ahead = log.catchUp();
    expect(await log.grantCheck(ref('a'), awaiting('a'), 1000, ahead)).toEqual({ grant_fact: { approval_id: 'ap-a', active_policy_snapshot: 'p1' }, snapshot_mode: 'strict' });
    expect(slow.reads).toBe(1);
    // Without it, a check made while that read runs waits for the next one: two reads.
    slow.append('job-b', 'ApprovalGranted', grant('b'));
    const running = log.catchUp();
    expect(await log.grantCheck(ref('b'), awaiting('b'))).toMatchObject({ grant_fact: { approval_id: 'ap-b' } });
    await running;
    expect(slow.reads).toBe(3);
    // A read ahead that failed is read again by the check itself.
    slow.append('job-c', 'ApprovalGranted', grant('c'));
    expect(await log.grantCheck(ref('c'), awaiting('c'), 1000, Promise.reject(new Error('store down')))).toMatchObject({ grant_fact: { approval_id: 'ap-c' } });
  });

  it('rebuild starts from position 0 after the read in flight', async () => {
    const slow = new SlowLog();
    const log = new DispatchLog(slow.asStore(), testConfig({ EVENT_STORE_URL: 'pglite://memory' }));
    slow.append('job-a', 'ApprovalGranted', grant('a'));
    const first = log.catchUp();
    const rebuilt = log.rebuild();
    expect(await first).toBe(1);
    expect(await rebuilt).toBe(1);
    expect(slow.maxRunning).toBe(1);
    expect(log.projection.get(ref('a'))).toBeDefined();
  });
});
