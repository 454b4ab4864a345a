/**
 * @signoff/worker-sdk: consume dispatched jobs, verify their integrity (job hash recomputed from
 * what was received), claim each idempotency key in a SQL table before the side effect (with a
 * lease), run the side effect under an explicit exactly-once contract (transactional, idempotent
 * or external: see the README), report started/succeeded/failed/unknown to the results topic.
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
} from './worker';
export { verifyDispatch, type DispatchedJob, type DispatchVerification, type RefusalCode } from './dispatch-verification';
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
