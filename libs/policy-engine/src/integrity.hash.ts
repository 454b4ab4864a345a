import { hash } from 'node:crypto';
import type { JobRequest } from '@signoff/contracts';
import canonicalize from 'canonicalize';
import type { PolicyBundle } from './policy.types';

/** Defaults of the optional fields of a job request (DESIGN section 4 `POST /jobs`). */
export const JOB_REQUEST_DEFAULTS = Object.freeze({ priority: 'normal', tenant: 'default' });

/** A job request as it arrives (HTTP body or Kafka message) once `submitted_by` is known. */
export interface JobRequestInput {
  readonly topic: string;
  readonly submitted_by: string;
  readonly priority?: string | null;
  readonly tenant?: string | null;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly payload?: unknown;
}

/**
 * The request that is evaluated and hashed, with the defaults applied in one place so that HTTP
 * and Kafka ingress hash the same job identically:
 * - `priority`: `"normal"` when absent or null;
 * - `tenant`: `"default"` when absent or null;
 * - `labels`: `{}` when absent or null;
 * - `payload`: `null` when absent (undefined).
 * Only the six hashed fields are kept (a `job_id` or other extra member is dropped). Present
 * values are kept as they are: an empty string is not "absent".
 */
export function normalizeJobRequest(input: JobRequestInput): JobRequest {
  return {
    topic: input.topic,
    priority: input.priority ?? JOB_REQUEST_DEFAULTS.priority,
    tenant: input.tenant ?? JOB_REQUEST_DEFAULTS.tenant,
    submitted_by: input.submitted_by,
    labels: input.labels ? { ...input.labels } : {},
    payload: input.payload === undefined ? null : input.payload,
  };
}

/**
 * A value has no RFC 8785 form (NaN, Infinity, undefined at the top): it cannot be hashed. Input
 * validation (`validateMessage`) refuses such values first; this is the typed error when one gets
 * here anyway.
 */
export class NotCanonicalJsonError extends Error {
  readonly code = 'not_canonical_json';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotCanonicalJsonError';
  }
}

/**
 * RFC 8785 (JCS) canonical JSON of a JSON value, by the `canonicalize` package. Throws
 * NotCanonicalJsonError on values JSON cannot carry (undefined at the top, NaN, Infinity).
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new NotCanonicalJsonError(`value has no RFC 8785 representation: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new NotCanonicalJsonError('value has no JSON representation');
  return text;
}

/** `"sha256:" + hex(SHA-256(RFC 8785 canonical JSON of value))`. */
export function canonicalSha256(value: unknown): string {
  return 'sha256:' + hash('sha256', canonicalJson(value), 'hex');
}

/**
 * `job_hash` of DESIGN section 3: SHA-256 over the canonical JSON of exactly
 * `{topic, priority, tenant, submitted_by, labels, payload}`. Extra members of `request` are not
 * hashed; an undefined payload hashes as null (as `normalizeJobRequest` makes it). Key order and
 * whitespace of the original JSON never matter; any change of a hashed value does.
 */
export function jobHash(request: JobRequest): string {
  return canonicalSha256({
    topic: request.topic,
    priority: request.priority,
    tenant: request.tenant,
    submitted_by: request.submitted_by,
    labels: request.labels,
    payload: request.payload === undefined ? null : request.payload,
  });
}

/**
 * `policy_snapshot` of DESIGN section 3: SHA-256 over the canonical JSON of the parsed, normalized
 * bundle (from `parsePolicy`). YAML formatting, comments, key order and spelled-out defaults do not
 * change it; any change of a rule, its order or the default does.
 */
export function policySnapshot(bundle: PolicyBundle): string {
  return canonicalSha256(bundle);
}
