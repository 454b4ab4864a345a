import fs from 'node:fs';
import { Attributes, Context, context, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { formatTraceparent, parseTraceparent } from './traceparent';

/**
 * Signoff's OpenTelemetry tracing: explicit spans at the few seams a job passes (ingress, policy
 * evaluation, event-store append, relay publish, dispatcher, worker), W3C `traceparent` carried in
 * Kafka headers and in event metadata. Off unless {@link startTracing} installed a provider:
 * then every helper here returns at its first line (no span, no context, no allocation) and the
 * wrappers (message bus, interceptor) are not installed at all.
 */

/** The header (HTTP, Kafka, gRPC metadata) and event-metadata field that carries the trace context. */
export const TRACEPARENT_HEADER = 'traceparent';

/** The tracer's instrumentation scope. */
export const TRACER_NAME = 'signoff';

/** What the process exports (OTEL_TRACES_EXPORTER; `none` = tracing off). */
export type TracesExporter = 'none' | 'otlp' | 'console' | 'signoff-test-file';

export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** The validated tracing configuration (see `parseTracingEnv` in @signoff/runtime). */
export interface TracingConfig {
  readonly exporter: TracesExporter;
  /** `service.name` (OTEL_SERVICE_NAME, else the service's own name). */
  readonly serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, parsed. */
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: SamplerName;
  /** The ratio of the traceidratio samplers (OTEL_TRACES_SAMPLER_ARG, default 1). */
  readonly samplerRatio: number;
  /** TEST ONLY (`signoff-test-file`): the file finished spans are appended to, one JSON object a line. */
  readonly testFile?: string;
}

/** What {@link startTracing} returns: flush and stop exporting (graceful shutdown). */
export interface TracingHandle {
  shutdown(): Promise<void>;
}

let enabled = false;
let handle: TracingHandle | null = null;

/** True once {@link startTracing} installed a provider in this process. */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Installs the OpenTelemetry SDK for this process: a tracer provider with the configured sampler
 * and exporter, and the AsyncLocalStorage context manager (so the active span follows awaits).
 * `none` installs nothing. The SDK is loaded only here, so a process without tracing never loads it.
 * Calling it again returns the first handle.
 */
export function startTracing(config: TracingConfig, overrides: { readonly exporter?: import('@opentelemetry/sdk-trace').SpanExporter } = {}): TracingHandle {
  if (handle) return handle;
  if (config.exporter === 'none' && !overrides.exporter) return (handle = { shutdown: async () => undefined });
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand: no SDK in a process that does not trace */
  const sdk = require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const { resourceFromAttributes } = require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let processor: import('@opentelemetry/sdk-trace').SpanProcessor;
  if (overrides.exporter) {
    // Tests: the SDK's InMemorySpanExporter, read back in the same process.
    processor = new sdk.SimpleSpanProcessor({ exporter: overrides.exporter });
  } else if (config.exporter === 'otlp') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-proto');
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION itself.
    processor = new sdk.BatchSpanProcessor({ exporter: new OTLPTraceExporter() });
  } else if (config.exporter === 'console') {
    processor = new sdk.SimpleSpanProcessor({ exporter: new sdk.ConsoleSpanExporter() });
  } else {
    processor = new sdk.SimpleSpanProcessor({ exporter: new FileSpanExporter(config.testFile ?? '') });
  }
  const ratio = new sdk.TraceIdRatioBasedSampler(config.samplerRatio);
  const root = { always_on: new sdk.AlwaysOnSampler(), always_off: new sdk.AlwaysOffSampler(), traceidratio: ratio };
  const sampler = config.sampler.startsWith('parentbased_')
    ? new sdk.ParentBasedSampler({ root: root[config.sampler.slice('parentbased_'.length) as keyof typeof root] })
    : root[config.sampler as keyof typeof root];
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ ...config.resourceAttributes, 'service.name': config.serviceName }),
    sampler,
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  handle = {
    shutdown: async () => {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
    },
  };
  return handle;
}

/** Flushes and stops the exporter started by {@link startTracing} (nothing when tracing is off). */
export async function shutdownTracing(): Promise<void> {
  await handle?.shutdown();
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /**
   * The parent: omitted, the active span; `null`, none (a new trace: a message without a usable
   * traceparent); a Context, that one (see {@link contextFromTraceparent}).
   */
  readonly parent?: Context | null;
}

/**
 * Runs `fn` in a new active span that ends when `fn` settles. A throw or rejection sets the
 * span's status to ERROR with `error.type` (the error's `code` or class name; never its message,
 * which may quote what a client sent) and is passed on unchanged. With tracing off, `fn` runs
 * with a non-recording span and nothing else happens.
 */
export function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => T): T {
  if (!enabled) return fn(NOOP_SPAN);
  const parent = options.parent === undefined ? context.active() : options.parent ?? ROOT_CONTEXT;
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent, (span) => {
    let result: T;
    try {
      result = fn(span);
    } catch (error) {
      fail(span, error);
      span.end();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          span.end();
          return value;
        },
        (error: unknown) => {
          fail(span, error);
          span.end();
          throw error;
        },
      ) as T;
    }
    span.end();
    return result;
  });
}

// What `fn` gets with tracing off: one shared non-recording span (its calls do nothing).
const NOOP_SPAN = trace.wrapSpanContext({ traceId: '00000000000000000000000000000000', spanId: '0000000000000000', traceFlags: TraceFlags.NONE });

function fail(span: Span, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  span.setAttribute('error.type', typeof code === 'string' && /^[a-z0-9_.-]{1,64}$/i.test(code) ? code : ((error as Error)?.constructor?.name ?? 'Error'));
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * A context whose parent is the remote span a traceparent names; null when tracing is off or the
 * value is absent or invalid (never throws: a forged header just starts a new trace).
 */
export function contextFromTraceparent(value: unknown): Context | null {
  if (!enabled) return null;
  const parsed = parseTraceparent(value);
  if (!parsed) return null;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.flags & 0xff, isRemote: true });
}

/** The traceparent of a span (null for a non-recording, invalid one). */
export function traceparentOf(span: Span | undefined): string | null {
  if (!enabled || !span) return null;
  const ctx = span.spanContext();
  return formatTraceparent({ traceId: ctx.traceId, spanId: ctx.spanId, flags: ctx.traceFlags });
}

/** The traceparent of the active span, for a message header or an event's metadata; null when there is none. */
export function currentTraceparent(): string | null {
  return enabled ? traceparentOf(trace.getActiveSpan()) : null;
}

/**
 * Runs `fn` as a continuation of the trace that `traceparent` names (a job's trace read back from
 * its events) when no span is active; inside an active span, or without a usable value, `fn`
 * just runs.
 */
export function continueTrace<T>(traceparent: unknown, fn: () => T): T {
  if (!enabled || trace.getActiveSpan() !== undefined) return fn();
  const parent = contextFromTraceparent(traceparent);
  return parent ? context.with(parent, fn) : fn();
}

/**
 * TEST ONLY (`OTEL_TRACES_EXPORTER=signoff-test-file`): appends every finished span to a file as
 * one JSON line, so a test can read the spans of several processes. Synchronous on purpose: a
 * process that is killed loses nothing it finished.
 */
class FileSpanExporter {
  constructor(private readonly file: string) {}

  export(spans: import('@opentelemetry/sdk-trace').ReadableSpan[], done: (result: { code: number }) => void): void {
    try {
      const lines = spans.map((s) =>
        JSON.stringify({
          name: s.name,
          kind: s.kind,
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId ?? null,
          service: s.resource.attributes['service.name'],
          attributes: s.attributes,
          status: s.status.code,
          startTime: s.startTime,
          endTime: s.endTime,
        }),
      );
      fs.appendFileSync(this.file, lines.map((l) => `${l}\n`).join(''));
      done({ code: 0 });
    } catch {
      done({ code: 1 });
    }
  }

  async shutdown(): Promise<void> {}
  async forceFlush(): Promise<void> {}
}
