import { describe, expect, it } from 'vitest';
import { PolicyEvaluatedData } from '@signoff/contracts';
import { EventStore, RecordedEvent } from '@signoff/event-store';
import { headsInBatch, RuleRedactions } from './rule-redactions';

const evaluated = (rule_id: string | null): PolicyEvaluatedData =>
  ({ decision: 'allow', rule_id, reason: 'r', policy_snapshot: 'snap', policy_version: 'v1' }) as unknown as PolicyEvaluatedData;

function event(streamId: string, revision: number, type: string, data: unknown = {}): RecordedEvent<{ type: string; data: unknown }> {
  return { id: `${streamId}-${revision}`, streamId, revision: BigInt(revision), position: 0n, createdAt: new Date(0), metadata: {}, type, data } as RecordedEvent<{ type: string; data: unknown }>;
}

/** A store that only answers head reads of job streams, from `streams`, and counts them. */
function headStore(streams: Record<string, RecordedEvent<{ type: string; data: unknown }>[]>): { store: EventStore; reads: string[] } {
  const reads: string[] = [];
  const store = {
    readStream: async (stream: string, options?: { maxCount?: number }) => {
      reads.push(stream);
      return (streams[stream] ?? []).slice(0, options?.maxCount);
    },
  } as unknown as EventStore;
  return { store, reads };
}

describe('headsInBatch: what a batch of the log says about the heads of the job streams it starts', () => {
  it('a stream whose events from revision 0 to its first PolicyEvaluated are in the batch: that evaluation', () => {
    const heads = headsInBatch([event('job-a', 0, 'JobSubmitted'), event('job-b', 5, 'JobCompleted'), event('job-a', 1, 'PolicyEvaluated', evaluated('pay')), event('job-a', 2, 'ApprovalRequested')]);
    expect(heads.get('job-a')).toEqual(evaluated('pay'));
    expect(heads.has('job-b')).toBe(false);
  });

  it('the first three events without a PolicyEvaluated: null, as a head read would answer', () => {
    const heads = headsInBatch([event('job-a', 0, 'JobSubmitted'), event('job-a', 1, 'X'), event('job-a', 2, 'Y'), event('job-a', 3, 'PolicyEvaluated', evaluated('late'))]);
    expect(heads.get('job-a')).toBeNull();
  });

  it('a head cut by the batch boundary or with a gap is not known (it is read)', () => {
    expect(headsInBatch([event('job-a', 0, 'JobSubmitted')]).has('job-a')).toBe(false);
    expect(headsInBatch([event('job-a', 0, 'JobSubmitted'), event('job-a', 2, 'PolicyEvaluated', evaluated('pay'))]).has('job-a')).toBe(false);
    expect(headsInBatch([event('job-a', 1, 'PolicyEvaluated', evaluated('pay'))]).has('job-a')).toBe(false);
  });
});

describe('RuleRedactions', () => {
  const streams = {
    'job-a': [event('job-a', 0, 'JobSubmitted'), event('job-a', 1, 'PolicyEvaluated', evaluated(null))],
    'job-b': [event('job-b', 0, 'JobSubmitted'), event('job-b', 1, 'PolicyEvaluated', evaluated(null))],
  };

  it('answers the jobs a prepared batch starts without reading their heads, and reads the others', async () => {
    const { store, reads } = headStore(streams);
    const redactions = new RuleRedactions(store, ['payload.secret']);
    redactions.prepareBatch([...streams['job-a'], streams['job-b'][0]]);
    const submitted = (streamId: string) => ({ type: 'JobSubmitted', data: {}, streamId }) as never;
    expect(await redactions.pathsFor(submitted('job-a'))).toEqual(['payload.secret']);
    expect(reads).toEqual([]);
    expect(await redactions.pathsFor(submitted('job-b'))).toEqual(['payload.secret']);
    expect(reads).toEqual(['job-b']);
  });
});
