import { describe, expect, it } from 'vitest';
import { deadLetterRecord, MAX_ERROR_DETAIL } from './dead-letter';
import { InboundMessage } from './message-bus.port';

const consumed = (headers: Record<string, string>): InboundMessage => ({
  topic: 'signoff.jobs.results',
  partition: 2,
  offset: '41',
  key: 'job-1',
  value: Buffer.from('{"job_id":"job-1"}'),
  headers,
  timestamp: '0',
});

describe('deadLetterRecord (what MessageDelivery publishes to <topic>.dlq)', () => {
  it('never copies a credential header, whatever its case, from the message or the subscription', () => {
    const record = deadLetterRecord(
      consumed({ authorization: 'Bearer worker-secret', Authorization: 'Bearer other-secret', AUTHORIZATION: 'Bearer third', 'x-trace': 't-1' }),
      { code: 'unauthenticated', detail: 'no valid worker credential' },
      { Authorization: 'Bearer extra', 'refused-by': 'w1' },
    );
    expect(Object.keys(record.headers!).map((h) => h.toLowerCase())).not.toContain('authorization');
    expect(JSON.stringify(record)).not.toMatch(/secret|Bearer/);
    expect(record.headers).toEqual({
      'x-trace': 't-1',
      'refused-by': 'w1',
      'error-code': 'unauthenticated',
      'error-detail': 'no valid worker credential',
      'original-topic': 'signoff.jobs.results',
      'original-partition': '2',
      'original-offset': '41',
    });
    expect(record.key).toBe('job-1');
    expect(record.value).toEqual(Buffer.from('{"job_id":"job-1"}'));
  });

  it('lets neither the message nor the subscription override the failure headers, and bounds the detail', () => {
    const record = deadLetterRecord(
      consumed({ 'error-code': 'none', 'original-topic': 'elsewhere', 'refused-by': 'forged' }),
      { code: 'bad_signature', detail: 'x'.repeat(10_000) },
      { 'error-code': 'mine', 'refused-by': 'w2' },
    );
    expect(record.headers).toMatchObject({ 'error-code': 'bad_signature', 'original-topic': 'signoff.jobs.results', 'refused-by': 'w2' });
    expect(record.headers!['error-detail']).toHaveLength(MAX_ERROR_DETAIL);
  });
});
