import { findUnsafeValues, nestsDeeperThan } from '@signoff/contracts';

/** The largest upstream result recorded on a job as it is (the results topic carries it in one Kafka message of at most 1 MiB). */
export const MAX_RECORDED_RESULT_BYTES = 512 * 1024;
/** Results are checked against the message depth Signoff accepts on its topics (64), with room for the envelope. */
export const MAX_RECORDED_RESULT_DEPTH = 48;

/**
 * What the job records of an upstream result: the result itself, or, when it could not travel on
 * the results topic or be stored (over 512 KiB of JSON, nested deeper than 48 levels, holding NUL
 * characters, lone surrogates or non-finite numbers), a text stand-in saying so, with
 * `_meta["signoff/result_not_recorded"]`. The tool did run: the job still succeeds (a report the
 * dispatcher refuses would leave it RUNNING and be replayed forever), and a client waiting on the
 * instance that ran it still gets the whole result.
 */
export function recordableResult(result: unknown): unknown {
  let reason: string | null = null;
  if (nestsDeeperThan(result, MAX_RECORDED_RESULT_DEPTH)) reason = `nested deeper than ${MAX_RECORDED_RESULT_DEPTH} levels`;
  else if (findUnsafeValues(result).length > 0) reason = 'holds NUL characters, lone surrogates or non-finite numbers';
  else {
    const bytes = Buffer.byteLength(JSON.stringify(result) ?? 'null', 'utf8');
    if (bytes > MAX_RECORDED_RESULT_BYTES) reason = `${bytes} bytes of JSON, over ${MAX_RECORDED_RESULT_BYTES}`;
  }
  if (reason === null) return result;
  return {
    content: [{ type: 'text', text: `The tool ran; its result was not recorded on the job (${reason}).` }],
    _meta: { 'signoff/result_not_recorded': { reason } },
  };
}
