import { Inject, Injectable } from '@nestjs/common';
import { releasedRequestOf, ReleasedJobState } from '@signoff/approvals';
import { DISPATCH_GRANT_TYP, DispatchGrantClaims } from '@signoff/contracts';
import { Clock } from '@signoff/core';
import { Jwks, SigningKeySet } from '@signoff/keys';
import { DISPATCH_OPTIONS, ResolvedDispatchOptions } from '../dispatch.options';

/**
 * What the grant of a released job's current, claimed attempt covers, read from the job's stream
 * (never from a notification): the job, its hash and policy snapshot, why it was released (its
 * `allow` evaluation, or the approval with its approvers), the attempt and its idempotency key.
 * The hash is the released request's (`releasedRequestOf`): an amendment's when the grant binds one.
 */
export function grantClaimsFor(state: ReleasedJobState): DispatchGrantClaims {
  const { job, approval, dispatch, evaluation } = state;
  if (dispatch.idempotency_key === null) throw new Error(`job ${job.job_id} has no claimed dispatch to sign`);
  return {
    job_id: job.job_id,
    tenant: job.request.tenant,
    job_hash: releasedRequestOf(state).job_hash,
    policy_snapshot: approval ? approval.policy_snapshot : evaluation.policy_snapshot,
    decision: approval ? 'approved' : 'allow',
    approval_id: approval ? approval.grant.approval_id : null,
    approved_by: approval ? [...approval.grant.approved_by] : [],
    attempt: dispatch.attempt,
    idempotency_key: dispatch.idempotency_key,
  };
}

/**
 * Signs dispatch grants (DESIGN section 12) with the control plane's current Ed25519 key: a
 * compact JWS, `typ` {@link DISPATCH_GRANT_TYP}, issued now (the dispatcher's clock) and valid for
 * `DISPATCH_GRANT_TTL_MS`. Every attempt gets a fresh grant, so a replay is never refused for an
 * expiry its first attempt ran into.
 */
@Injectable()
export class DispatchGrantSigner {
  private readonly keys: SigningKeySet;
  private readonly ttlMs: number;

  constructor(
    private readonly clock: Clock,
    @Inject(DISPATCH_OPTIONS) options: ResolvedDispatchOptions,
  ) {
    if (!options.signing) throw new Error('the dispatcher signs every dispatch: DispatchModule needs signing keys (SIGNOFF_SIGNING_KEY_FILE)');
    this.keys = options.signing.keys;
    this.ttlMs = options.signing.grantTtlMs;
  }

  /** The grant of the state's current attempt. */
  async sign(state: ReleasedJobState): Promise<string> {
    const issuedAt = this.clock.now();
    return this.keys.sign({ ...grantClaimsFor(state) }, { typ: DISPATCH_GRANT_TYP, issuedAt, expiresAt: new Date(issuedAt.getTime() + this.ttlMs) });
  }

  /** The public keys workers verify grants with (`GET /.well-known/jwks.json`). */
  publicJwks(): Jwks {
    return this.keys.publicJwks();
  }
}
