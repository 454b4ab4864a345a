/**
 * @signoff/worker-sdk: consume dispatched jobs, verify them (the control plane's signed grant
 * first, then the job hash recomputed from what was received), claim each idempotency key in a
 * SQL table before the side effect (with a lease), run the side effect under an explicit
 * exactly-once contract (transactional, idempotent or external: see the README), report
 * started/succeeded/failed/unknown to the results topic with the worker's credential.
 */
export {
  createWorker,
  ClaimBusyError,
  LeaseLostError,
  type Worker,
  type WorkerOptions,
  type ExternalEffectWorkerOptions,
  type TransactionalWorkerOptions,
  type JobHandler,
  type TransactionalJobHandler,
  type JobContext,
  type TransactionalJobContext,
  type ProcessOutcome,
  type WorkerFaultPoint,
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
  failedOutcome,
  type ClaimMode,
  type ClaimRecord,
  type ClaimRequest,
  type ClaimResult,
  type CompleteResult,
  type Lease,
  type SqlQueryable,
  type StoredOutcome,
  type TransactionalEffect,
  type TransactionalResult,
} from './claim-store.port';
export { SqlClaimStore, DEFAULT_CLAIM_TABLE } from './sql-claim.store';
export { poolTransactions, pgliteTransactions, transactionsFor, type SqlTransactionRunner } from './sql-transactions';
export { LeaseKeeper, leaseMargin } from './lease-keeper';
export { openClaimStore, type OpenClaimStoreOptions } from './claim-store.factory';
