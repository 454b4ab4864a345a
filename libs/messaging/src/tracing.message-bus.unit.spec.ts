import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import { inSpan, parseTraceparent, startTracing, tracingEnabled } from '@signoff/observability';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InMemoryMessageBus } from './in-memory.message-bus';
import { InboundMessage } from './message-bus.port';
import { describeMessageBusConformance, eventually } from './testing/message-bus.conformance';
import { TracingMessageBus, withTracing } from './tracing.message-bus';

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  startTracing(
    { exporter: 'none', serviceName: 'unit', resourceAttributes: {}, sampler: 'parentbased_always_on', samplerRatio: 1 },
    { exporter },
  );
});
beforeEach(() => exporter.reset());

// The traced bus keeps every promise of the port.
describeMessageBusConformance('in-process bus with tracing', () => new TracingMessageBus(new InMemoryMessageBus(), 'signoff_in_process'));

async function roundTrip(headers: Record<string, string> | undefined): Promise<{ message: InboundMessage; spans: ReadableSpan[] }> {
  const bus = withTracing(new InMemoryMessageBus(), 'signoff_in_process');
  let received: InboundMessage | null = null;
  const sub = await bus.subscribe({ groupId: 'g', topics: ['t'], handler: async (m) => void (received = m) });
  await bus.publish('t', [{ key: 'job-1', value: { n: 1 }, ...(headers ? { headers } : {}) }]);
  await eventually(() => received !== null, 'the message');
  await sub.stop();
  await eventually(() => exporter.getFinishedSpans().some((s) => s.name === 'process t'), 'the process span');
  return { message: received!, spans: exporter.getFinishedSpans() };
}

describe('TracingMessageBus', () => {
  it('is installed only when tracing is on', () => {
    expect(tracingEnabled()).toBe(true);
    const bus = new InMemoryMessageBus();
    expect(withTracing(bus, 'x')).toBeInstanceOf(TracingMessageBus);
    const traced = withTracing(bus, 'x');
    expect(withTracing(traced, 'x')).toBe(traced);
  });

  it('a publish inside a span carries that trace to the consumer: send (PRODUCER) -> process (CONSUMER)', async () => {
    let traceId = '';
    const { message, spans } = await inSpan('request', {}, async (span) => {
      traceId = span.spanContext().traceId;
      return roundTrip(undefined);
    });
    const send = spans.find((s) => s.name === 'send t')!;
    const process = spans.find((s) => s.name === 'process t')!;
    expect(parseTraceparent(message.headers.traceparent)).toEqual({ traceId, spanId: send.spanContext().spanId, flags: 1 });
    expect(send.spanContext().traceId).toBe(traceId);
    expect(process.spanContext().traceId).toBe(traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(send.attributes).toMatchObject({ 'messaging.system': 'signoff_in_process', 'messaging.operation.type': 'send', 'messaging.destination.name': 't', 'messaging.kafka.message.key': 'job-1' });
    expect(process.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'messaging.consumer.group.name': 'g', 'messaging.destination.partition.id': expect.any(String) });
  });

  it("a message that brings its own traceparent keeps it (the dispatcher's narrower span)", async () => {
    const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { message, spans } = await roundTrip({ traceparent: own });
    expect(message.headers.traceparent).toBe(own);
    expect(spans.some((s) => s.name === 'send t')).toBe(false);
    const process = spans.find((s) => s.name === 'process t')!;
    expect(process.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(process.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it.each([
    ['garbage', 'not-a-traceparent'],
    ['all-zero ids', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['an overlong value', `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01-${'x'.repeat(5000)}`],
  ])('a forged traceparent header (%s) is ignored: the message is handled in a new trace', async (_name, forged) => {
    const { message, spans } = await roundTrip({ traceparent: forged });
    expect(message.headers.traceparent).toBe(forged);
    const process = spans.find((s) => s.name === 'process t')!;
    expect(process.parentSpanContext).toBeUndefined();
    expect(process.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(process.spanContext().traceId).not.toBe('0'.repeat(32));
  });

  it('a failing handler marks its span as an error with error.type, never the message text', async () => {
    const bus = withTracing(new InMemoryMessageBus(), 'signoff_in_process');
    let attempts = 0;
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['f'],
      handler: async () => {
        attempts += 1;
        if (attempts === 1) throw Object.assign(new Error('submitter alice@example.com was refused'), { code: 'store_unavailable' });
      },
    });
    await bus.publish('f', [{ key: 'k', value: 'x' }]);
    await eventually(() => attempts >= 2, 'the retry');
    await sub.stop();
    const failed = exporter.getFinishedSpans().find((s) => s.name === 'process f' && s.status.code === 2)!;
    expect(failed.attributes['error.type']).toBe('store_unavailable');
    expect(JSON.stringify({ attributes: failed.attributes, status: failed.status, events: failed.events })).not.toContain('alice@example.com');
  });
});
