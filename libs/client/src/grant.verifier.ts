import type { VerificationKeySet, KeySetSource } from '@signoff/keys';
import type { DispatchedJob, VerifyDispatchOptions } from '@signoff/worker-sdk';
import { SignoffApiError } from './signoff-api.error';

/** A consumed `signoff.jobs.dispatch` message as a Kafka client hands it over (kafkajs: value and headers as Buffers). */
export interface DispatchRecord {
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, unknown>>;
  readonly key?: unknown;
}

export interface VerifyGrantOptions extends VerifyDispatchOptions {
  /**
   * The control plane's public keys: a JWK Set, a file holding one, an https URL
   * (`<dispatch service>/.well-known/jwks.json`; http on loopback only), or a `VerificationKeySet`
   * of `@signoff/keys`. A source given as a string or object is cached per value.
   */
  readonly keys: KeySetSource | VerificationKeySet;
}

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value) && value.length > 0) return text(value[0]);
  return undefined;
};

const sets = new Map<string, Promise<VerificationKeySet>>();

async function keySet(keys: VerifyGrantOptions['keys']): Promise<VerificationKeySet> {
  const { VerificationKeySet: KeySet } = await import('@signoff/keys');
  if (keys instanceof KeySet) return keys;
  const id = typeof keys === 'string' ? keys : JSON.stringify(keys);
  let set = sets.get(id);
  if (!set) {
    set = Promise.resolve().then(() => KeySet.from(keys as KeySetSource));
    set.catch(() => sets.delete(id));
    if (sets.size >= 16) sets.delete(sets.keys().next().value as string);
    sets.set(id, set);
  }
  return set;
}

/**
 * Verifies a dispatched job for a worker that does not use the worker SDK, exactly as the worker
 * SDK does (`verifyDispatch` of `@signoff/worker-sdk`, loaded on first use so the client's core
 * needs nothing but fetch): the `signoff-grant` signature against the control plane's keys, every
 * field the grant covers, the job hash recomputed from the body. Resolves with the verified job;
 * rejects with a {@link SignoffApiError} whose `code` is the refusal (`unsigned`, `unknown_key`,
 * `bad_signature`, `grant_expired`, `grant_not_yet_valid`, `invalid_message`, `grant_mismatch`,
 * `job_hash_mismatch`; `details` has the message's `job_id`, `tenant`, `idempotency_key`), or
 * with the key set's `KeySetUnavailableError` when the keys cannot be read now (retry later: not
 * a verdict on the message). Run nothing that was refused; the idempotency key still has to be
 * claimed before a side effect (a dispatch may be delivered more than once).
 */
export async function verifyGrant(dispatch: DispatchRecord, options: VerifyGrantOptions): Promise<DispatchedJob> {
  const { verifyDispatch } = await import('@signoff/worker-sdk');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(dispatch.headers ?? {})) {
    const v = text(value);
    if (v !== undefined) headers[name.toLowerCase()] = v;
  }
  let value: unknown = dispatch.value;
  if (typeof value === 'string' || value instanceof Uint8Array) {
    try {
      value = JSON.parse(text(value)!);
    } catch {
      value = null; // not JSON: refused below as an invalid message (after the signature check)
    }
  }
  const key = text(dispatch.key) ?? null;
  const verification = await verifyDispatch({ value, headers, key }, await keySet(options.keys), { now: options.now, clockToleranceSec: options.clockToleranceSec });
  if (verification.ok) return verification.job;
  throw new SignoffApiError(verification.code, verification.detail, 0, {
    job_id: verification.job_id,
    tenant: verification.tenant,
    idempotency_key: verification.idempotency_key,
  });
}
