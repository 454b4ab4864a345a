/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `{version}-{trace-id}-{parent-id}-{trace-flags}`, e.g.
 * `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`. Pure: no OpenTelemetry here.
 *
 * A traceparent arrives from outside (an HTTP header, a Kafka header, an event's metadata written
 * by an older or a hostile producer), so {@link parseTraceparent} never throws: anything that is
 * not a valid value is `null`, and the caller starts a new trace instead (the spec's rule).
 */

/** The parts of a valid traceparent (lowercase hex). */
export interface TraceParent {
  readonly traceId: string;
  readonly spanId: string;
  /** The trace-flags byte (bit 0: sampled). */
  readonly flags: number;
}

/** Longer values are refused before any parsing (the spec's version 00 is 55 characters). */
export const MAX_TRACEPARENT_LENGTH = 256;

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
// A later version may append fields after a `-`; its first four parts are read as version 00's.
const LATER_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-[\x21-\x7e]*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The traceparent in `value`, or null when it is absent, malformed, or names an all-zero id. */
export function parseTraceparent(value: unknown): TraceParent | null {
  if (typeof value !== 'string' || value.length < 55 || value.length > MAX_TRACEPARENT_LENGTH) return null;
  const text = value;
  let traceId: string;
  let spanId: string;
  let flags: string;
  const v00 = VERSION_00.exec(text);
  if (v00) {
    [, traceId, spanId, flags] = v00;
  } else {
    const later = LATER_VERSION.exec(text);
    // Version ff is forbidden; 00 must be exactly 55 characters (no trailing fields).
    if (!later || later[1] === 'ff' || later[1] === '00') return null;
    [, , traceId, spanId, flags] = later;
  }
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

/** The version-00 traceparent of a span context; null when its ids are not valid. */
export function formatTraceparent(parent: TraceParent): string | null {
  const flags = Number.isInteger(parent.flags) && parent.flags >= 0 && parent.flags <= 0xff ? parent.flags : -1;
  if (flags < 0 || !/^[0-9a-f]{32}$/.test(parent.traceId) || !/^[0-9a-f]{16}$/.test(parent.spanId)) return null;
  if (parent.traceId === ZERO_TRACE || parent.spanId === ZERO_SPAN) return null;
  return `00-${parent.traceId}-${parent.spanId}-${flags.toString(16).padStart(2, '0')}`;
}
