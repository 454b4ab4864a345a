import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobView } from './api.types';
import { decisionOf } from './decision';
import { retryDelay } from './http.transport';
import { errorOfAnswer, parseRetryAfter, SignoffApiError } from './signoff-api.error';
import { SseOverflowError, SseParser } from './sse.parser';
import { toolJobId } from './tool-gate';

const RETRY = { maxAttempts: 4, maxDelayMs: 10_000 };
const job = (state: JobView['state'], extra: Partial<JobView> = {}): JobView =>
  ({ job_id: 'j', topic: 't', state, decision: 'require_human', rule_id: 'r', policy_snapshot: 's', job_hash: 'h', ...extra }) as JobView;

describe('SseParser', () => {
  it('parses events split anywhere, with LF, CRLF or CR line ends, and keeps the last id', () => {
    const stream = 'id: 7\nevent: granted\ndata: {"a":1}\n\n: heartbeat\n\nid: 8\r\nevent: rejected\r\ndata: x\r\ndata: y\r\n\r\ndata: no-id\r\r\n';
    for (const size of [1, 2, 3, 7, stream.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
      expect(events).toEqual([
        { id: '7', event: 'granted', data: '{"a":1}' },
        { id: '8', event: 'rejected', data: 'x\ny' },
        { id: '8', event: 'message', data: 'no-id' },
      ]);
      expect(parser.lastEventId).toBe('8');
    }
  });

  it('never yields an event that is not complete, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const events = new SseParser(10_000).push(text);
        for (const e of events) expect(typeof e.data).toBe('string');
      }),
    );
  });

  it('refuses to buffer a line or an event past its bound', () => {
    expect(() => new SseParser(100).push('data: ' + 'x'.repeat(200))).toThrow(SseOverflowError);
    const parser = new SseParser(100);
    expect(() => {
      for (let i = 0; i < 20; i++) parser.push('data: 0123456789\n');
    }).toThrow(SseOverflowError);
  });
});

describe('errors and retries', () => {
  it('keeps the code, status, detail and extensions of a problem document', () => {
    const error = errorOfAnswer(409, { type: 't', title: 'x', status: 409, code: 'snapshot_changed', detail: 'changed', expected: 'a', current: 'b' }, null);
    expect(error).toMatchObject({ code: 'snapshot_changed', status: 409, message: 'changed', details: { expected: 'a', current: 'b' }, retryAfterMs: null });
  });

  it('answers anything that is not a problem document invalid_response with its status', () => {
    for (const body of [undefined, null, 'x', [], { code: 42 }, { code: 'Not A Code!' }]) {
      expect(errorOfAnswer(502, body, null)).toMatchObject({ code: 'invalid_response', status: 502 });
    }
  });

  it('reads Retry-After as seconds or an HTTP date, capped, and ignores garbage', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter('-1')).toBeNull();
    expect(parseRetryAfter('99999999')).toBe(3_600_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
  });

  it('retries a 503 with Retry-After for any call, a lost connection only for idempotent ones, nothing else', () => {
    const busy = new SignoffApiError('busy', 'x', 503, {}, 1000);
    expect(retryDelay(busy, 1, false, RETRY)).toBe(1000);
    expect(retryDelay(busy, 4, false, RETRY)).toBeNull();
    expect(retryDelay(new SignoffApiError('busy', 'x', 503, {}, 60_000), 1, true, RETRY)).toBeNull();
    expect(retryDelay(new SignoffApiError('policy_unavailable', 'x', 503), 1, true, RETRY)).toBeNull();
    const lost = new SignoffApiError('network_error', 'x');
    expect(retryDelay(lost, 1, true, RETRY, () => 1)).toBe(200);
    expect(retryDelay(lost, 3, true, RETRY, () => 1)).toBe(800);
    expect(retryDelay(lost, 1, false, RETRY)).toBeNull();
    for (const code of ['throttled', 'policy_denied', 'timeout', 'invalid_response', 'job_request_changed']) {
      expect(retryDelay(new SignoffApiError(code, 'x', 429, {}, 1000), 1, true, RETRY)).toBeNull();
    }
  });
});

describe('decisionOf', () => {
  it('waits while reviewers decide, and resolves refusals whatever is awaited', () => {
    expect(decisionOf(job('APPROVAL_REQUIRED'))).toBeNull();
    for (const [state, outcome] of [['DENIED', 'denied'], ['REJECTED', 'rejected'], ['EXPIRED', 'expired'], ['INVALIDATED', 'invalidated']] as const) {
      for (const until of ['decision', 'dispatch', 'completion'] as const) expect(decisionOf(job(state), until)).toMatchObject({ outcome, approved: false });
    }
  });

  it('tells allowed from approved, and waits for dispatch or completion when asked', () => {
    const approval = { state: 'approved' } as unknown as JobView['approval'];
    expect(decisionOf(job('PENDING', { approval }))).toMatchObject({ outcome: 'approved', approved: true, state: 'PENDING' });
    expect(decisionOf(job('PENDING'))).toMatchObject({ outcome: 'allowed', approved: true });
    expect(decisionOf(job('PENDING'), 'dispatch')).toBeNull();
    expect(decisionOf(job('DISPATCHED'), 'dispatch')).toMatchObject({ outcome: 'allowed' });
    expect(decisionOf(job('RUNNING'), 'completion')).toBeNull();
    for (const state of ['SUCCEEDED', 'FAILED', 'UNKNOWN'] as const) expect(decisionOf(job(state), 'completion')).toMatchObject({ state });
  });
});

describe('toolJobId', () => {
  it('is stable per tool call, distinct across tools and calls, and an id the API accepts', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (toolName, callId) => {
        const id = toolJobId({ toolName, callId });
        expect(id).toMatch(/^tool-[0-9a-f]{32}$/);
        expect(toolJobId({ toolName, callId })).toBe(id);
      }),
    );
    expect(toolJobId({ toolName: 'pay', callId: '1' })).not.toBe(toolJobId({ toolName: 'pay', callId: '2' }));
    expect(toolJobId({ toolName: 'a\nb', callId: 'c' })).not.toBe(toolJobId({ toolName: 'a', callId: 'b\nc' }));
  });
});
