import { findUnsafeValues, MAX_PAYLOAD_DEPTH, nestsDeeperThan } from '@signoff/contracts';
import { canonicalSha256 } from '@signoff/policy-engine';

/** The largest arguments object the gateway submits (Signoff's body limit is 1 MiB for the whole request). */
export const MAX_ARGUMENTS_BYTES = 1_000_000;
/** Arguments nest at most as deep as a job's payload may (they are its payload). */
export const MAX_ARGUMENTS_DEPTH = MAX_PAYLOAD_DEPTH;

export interface ArgumentsProblem {
  readonly code: 'invalid_arguments' | 'arguments_too_large';
  readonly message: string;
}

/**
 * Why a call's arguments cannot become a job's payload, or null: not an object, nested deeper
 * than {@link MAX_ARGUMENTS_DEPTH}, larger than {@link MAX_ARGUMENTS_BYTES} as JSON, or holding
 * a NUL character, a lone surrogate or a non-finite number (no store can hold them). The depth is
 * checked first and iteratively, so a hostile value never reaches a recursive walk.
 */
export function argumentsProblem(args: unknown): ArgumentsProblem | null {
  if (args === undefined) return null;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return { code: 'invalid_arguments', message: 'arguments must be an object' };
  if (nestsDeeperThan(args, MAX_ARGUMENTS_DEPTH)) return { code: 'invalid_arguments', message: `arguments nest deeper than ${MAX_ARGUMENTS_DEPTH} levels` };
  const unsafe = findUnsafeValues(args, 'arguments');
  if (unsafe.length > 0) return { code: 'invalid_arguments', message: unsafe.map((u) => `${u.field}: ${u.message}`).join('; ') };
  const bytes = Buffer.byteLength(JSON.stringify(args), 'utf8');
  if (bytes > MAX_ARGUMENTS_BYTES) return { code: 'arguments_too_large', message: `arguments are ${bytes} bytes of JSON; at most ${MAX_ARGUMENTS_BYTES}` };
  return null;
}

/** The arguments a call submits: an absent `arguments` is `{}` (what the upstream receives too). */
export function normalizedArguments(args: unknown): Record<string, unknown> {
  return (args ?? {}) as Record<string, unknown>;
}

/** `args_hash`: `"sha256:" + hex(SHA-256(RFC 8785 canonical JSON of the arguments))`; key order and whitespace never matter. */
export function argsHash(args: unknown): string {
  return canonicalSha256(normalizedArguments(args));
}
