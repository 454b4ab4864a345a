/**
 * @signoff/worker-sdk: consume dispatched jobs, verify them (the control plane's signed grant
 * first, then the job hash recomputed from what was received), run each side effect exactly once
 * (idempotency key claimed in a SQL table before the side effect, with a lease), report
 * started/succeeded/failed to the results topic with the worker's credential.
 */
export {
  createWorker,
  ClaimBusyError,
  type Worker,
  type WorkerOptions,
  type JobHandler,
  type JobContext,
  type ProcessOutcome,
  type WorkerLogLevel,
  type WorkerToken,
} from './worker';
export {
  verifyDispatch,
  REFUSAL_CODES,
  type DispatchedJob,
  type DispatchEnvelope,
  type DispatchVerification,
  type RefusalCode,
  type VerifiedGrant,
  type VerifyDispatchOptions,
} from './dispatch-verification';
export {
  ClaimStore,
  type ClaimRecord,
  type ClaimRequest,
  type ClaimResult,
  type CompleteResult,
  type Lease,
  type StoredOutcome,
} from './claim-store.port';
export { SqlClaimStore, DEFAULT_CLAIM_TABLE, type SqlQueryable } from './sql-claim.store';
export { openClaimStore, type OpenClaimStoreOptions } from './claim-store.factory';
