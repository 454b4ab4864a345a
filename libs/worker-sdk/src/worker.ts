import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PARTITIONS, DEFAULT_TOPIC_PREFIX, jobResultMessage, JobResultOutcome, signoffTopics } from '@signoff/contracts';
import { KeySetSource, VerificationKeySet } from '@signoff/keys';
import { classifyFailure, InboundMessage, KafkaMessageBus, MessageBus, PermanentMessageError, Subscription, TransientMessageError, withTracing } from '@signoff/messaging';
import { inSpan, JsonLogger } from '@signoff/observability';
import { Counter, Registry } from 'prom-client';
import { openClaimStore } from './claim-store.factory';
import { ClaimMode, ClaimStore, CompleteResult, failedOutcome, Lease, SqlQueryable, StoredOutcome } from './claim-store.port';
import { DispatchedJob, REFUSAL_CODES, RefusalCode, verifyDispatch } from './dispatch-verification';
import { LeaseKeeper } from './lease-keeper';

/** What a handler gets besides the job. */
export interface JobContext {
  /** The job's idempotency key: pass it on to downstream APIs that take one (payments, mail). */
  readonly idempotencyKey: string;
  /**
   * The claim's run counter: 1 for the first run of the key, + 1 with every takeover, so a later
   * run always carries a higher token. Pass it with the key to a downstream system that fences:
   * it refuses a write whose token is lower than the highest it saw for the key, so a worker that
   * was taken over (it stalled past its lease) cannot write after its successor.
   */
  readonly fencingToken: number;
  readonly attempt: number;
  readonly workerId: string;
  /**
   * Fires the moment this worker's claim is lost: a renewal found it taken over, or renewals could
   * not reach the database and the lease's expiry (a local deadline from the last successful
   * renewal, with a margin) passed. In the transactional mode: the transaction's connection was
   * lost. Stop the side effect when it fires; its `reason` says why.
   */
  readonly signal: AbortSignal;
}

/** What a transactional handler gets: the claim's database transaction besides the rest. */
export interface TransactionalJobContext extends JobContext {
  /**
   * The claim's transaction: what the handler writes through it commits atomically with the
   * claim's completion, or not at all. Do not commit, roll back or swallow errors on it.
   */
  readonly tx: SqlQueryable;
}

/**
 * Runs the side effect of one job and returns its result (JSON). A thrown error records the job
 * as `failed` with the error's message; the side effect is not run again for this job. (A throw
 * after `context.signal` fired is not a `failed`: see {@link WorkerOptions}.)
 */
export type JobHandler = (job: DispatchedJob, context: JobContext) => unknown;

/** A transactional handler: writes its side effect through `context.tx` (see {@link TransactionalJobContext}). */
export type TransactionalJobHandler = (job: DispatchedJob, context: TransactionalJobContext) => unknown;

/** The worker's credential: a JWT with the role `worker`, or a function that returns a current one. */
export type WorkerToken = string | (() => string | Promise<string>);

export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** TEST ONLY: where {@link WorkerOptions.fault} is called (the demo worker SIGKILLs itself there). */
export type WorkerFaultPoint = 'after-claim' | 'before-complete';

interface CommonWorkerOptions {
  /** A message bus you hold (the standalone's in-process bus, a shared Kafka bus)... */
  readonly bus?: MessageBus;
  /** ...or Kafka bootstrap brokers: the worker opens (and closes) its own Kafka bus. */
  readonly brokers?: readonly string[];
  /** KAFKA_TOPIC_PREFIX (default `signoff.`). */
  readonly topicPrefix?: string;
  /** Consumer group: instances sharing it split the dispatched jobs (default `signoff-workers`). */
  readonly groupId?: string;
  /**
   * The control plane's public keys, which every dispatch grant must verify against: a JWK Set,
   * a file holding one, an https URL serving one (the dispatch service's
   * `/.well-known/jwks.json`), or a VerificationKeySet you hold. Any key of the set is accepted,
   * so the control plane can rotate keys without stopping workers.
   */
  readonly grantKeys: KeySetSource | VerificationKeySet;
  /**
   * This worker's credential, sent as `authorization: Bearer <JWT>` with every report on
   * `signoff.jobs.results`; the dispatcher refuses reports without a valid one. Pass a function
   * to renew tokens before they expire.
   */
  readonly workerToken: WorkerToken;
  /** Where the worker's metrics are registered (default: a registry of its own, `worker.registry`). */
  readonly registry?: Registry;
  /** The worker's clock for grant lifetimes (default: the system clock). */
  readonly clock?: () => Date;
  /** A claim store you hold... */
  readonly claims?: ClaimStore;
  /** ...or where to keep the claims: `postgres://…`, `pglite://<dir>|memory`... */
  readonly databaseUrl?: string;
  /** ...or a pg Pool / pg Client / PGlite you hold (the transactional mode needs a Pool or a PGlite). */
  readonly db?: SqlQueryable;
  /** Claim table name (default `signoff_worker_claims`). */
  readonly tableName?: string;
  /** This worker's name in claims and reports (default `<host>:<pid>`). */
  readonly workerId?: string;
  /**
   * How long a claim holds without renewal (default 30 s); renewed every third of it while an
   * external handler runs. In the transactional mode the claim transaction holds the claim row
   * locked instead, and the server ends a transaction idle for longer than this.
   */
  readonly leaseMs?: number;
  /** How long `stop()` waits for handlers under way before closing (default: `leaseMs`). */
  readonly stopTimeoutMs?: number;
  /** Jobs this worker takes; others are left alone (acknowledged without a claim or a report). */
  readonly accepts?: (job: DispatchedJob) => boolean;
  readonly log?: (level: WorkerLogLevel, message: string, fields?: Record<string, unknown>) => void;
  /**
   * TEST ONLY: called at points of a run (`after-claim`: claimed and `started` reported, nothing
   * run yet; `before-complete`: the handler returned, its outcome not stored yet), so a test can
   * kill the process there. Never set in a deployment.
   */
  readonly fault?: (point: WorkerFaultPoint, job: DispatchedJob) => void | Promise<void>;
}

/**
 * External side effects (the default): the handler calls systems outside the claim's database.
 * Exactly once holds for what the claim table can see: a handler is started at most once per
 * lease, an outcome is stored once, and a lease lost after the effect began is never silently run
 * again. The SDK cannot know whether an effect outside its database happened when its worker died
 * mid-run: such a job's outcome is `unknown` (reported, the job becomes UNKNOWN, an operator
 * resolves it), unless the handler declares itself `idempotent`.
 */
export interface ExternalEffectWorkerOptions extends CommonWorkerOptions {
  readonly mode?: 'external';
  /**
   * The handler's downstream dedupes by `context.idempotencyKey` and fences by
   * `context.fencingToken`: a lease lost without an outcome is then taken over and the handler
   * run again, with a higher fencing token, instead of the job becoming UNKNOWN.
   */
  readonly idempotent?: boolean;
  readonly handler: JobHandler;
}

/**
 * Transactional side effects: the handler writes its effect through `context.tx`, the claim's
 * transaction in the claim store's database (PostgreSQL or PGlite), which also marks the claim
 * completed. The effect and its completion commit together or not at all: exactly once.
 */
export interface TransactionalWorkerOptions extends CommonWorkerOptions {
  readonly mode: 'transactional';
  readonly handler: TransactionalJobHandler;
}

export type WorkerOptions = ExternalEffectWorkerOptions | TransactionalWorkerOptions;

/** What {@link Worker.process} did with one message. */
export type ProcessOutcome =
  /** The side effect ran (and its outcome was stored and reported). */
  | 'ran'
  /** The key was completed before: the stored outcome was reported again, nothing ran. */
  | 'duplicate'
  /** The key's outcome is unknown (found now, or before): `unknown` was reported, nothing ran. */
  | 'unknown'
  /** Refused before running (see RefusalCode; dead-lettered), or an idempotency key conflict. */
  | 'refused'
  /** Not for this worker (`accepts`). */
  | 'skipped'
  /** It ran, but another worker took the claim over meanwhile (this one was presumed dead). */
  | 'lease_lost';

/** A running worker. */
export interface Worker {
  readonly workerId: string;
  /** Subscribes to `signoff.jobs.dispatch` (creating the topics when missing). */
  start(): Promise<void>;
  /** Stops consuming and closes what the worker opened itself. */
  stop(): Promise<void>;
  /**
   * Handles one dispatch message (what the subscription calls; exposed for in-process use and
   * tests). A refused message resolves `refused`; only the subscription dead-letters it.
   */
  process(message: InboundMessage): Promise<ProcessOutcome>;
  /** The worker's metrics (`signoff_worker_dispatch_refused_total{code}`): serve them on /metrics. */
  readonly registry: Registry;
}

/** Another worker holds a live claim on the key: the message is retried by the bus later (transient). */
export class ClaimBusyError extends TransientMessageError {
  constructor(
    readonly key: string,
    readonly owner: string,
    readonly leaseExpiresAt: Date,
  ) {
    super('busy', `idempotency key ${key} is being run by ${owner} (lease until ${leaseExpiresAt.toISOString()})`);
    this.name = 'ClaimBusyError';
  }
}

/** The lease was lost before an outcome could be stored; the bus redelivers the message and the claim rules decide. */
export class LeaseLostError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

const REFUSED_METRIC = 'signoff_worker_dispatch_refused_total';

function isRefusalCode(code: string): code is RefusalCode {
  return (REFUSAL_CODES as readonly string[]).includes(code);
}

/** The refusal counter of a registry (one per registry, however many workers share it). */
function refusalCounter(registry: Registry): Counter<'code'> {
  const existing = registry.getSingleMetric(REFUSED_METRIC);
  if (existing) return existing as Counter<'code'>;
  const counter = new Counter({
    name: REFUSED_METRIC,
    help: 'Dispatch messages a worker refused to run (unsigned, bad signature, expired, not matching the grant), dead-lettered.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  for (const code of REFUSAL_CODES) counter.inc({ code }, 0);
  return counter;
}

/** Back-off of storing an outcome while the claim database is unreachable. */
const STORE_RETRY_MS = [50, 100, 250, 500, 1000, 2000];

/** Why a held claim's outcome is unknown when its handler gave up after the lease was lost. */
function abandonedReason(workerId: string, lease: Lease, loss: unknown, gaveUp: unknown): string {
  const text = (value: unknown) => (value instanceof Error ? value.message : String(value));
  return `${workerId} (run ${lease.fencingToken}) lost its lease while the side effect was under way (${text(loss)}) and the handler gave up: ${text(gaveUp)}`.slice(
    0,
    2000,
  );
}

/**
 * Creates a Signoff worker (DESIGN sections 3 and 6): it consumes `signoff.jobs.dispatch` and,
 * for each message,
 * 1. verifies it, the signature first (`verifyDispatch`: a grant signed by a key of `grantKeys`,
 *    unexpired, whose every covered field equals the body's, and a job hash recomputed from what
 *    was received equal to the granted one); a refused message never runs, claims nothing, is
 *    reported nowhere but on `signoff.jobs.dispatch.dlq` (with `error-code`, `error-detail` and
 *    `refused-by`: this worker's id; dead-lettered by the subscription, as every Signoff
 *    consumer's dead letters are) and in `signoff_worker_dispatch_refused_total{code}`;
 * 2. claims the idempotency key in the claim table BEFORE running anything (an atomic insert, or
 *    a takeover of an expired lease when that is safe); a completed key reports its stored outcome
 *    again without running; an expired claim whose external, non-idempotent effect may have begun
 *    is marked `unknown` and reported `unknown`; a key another live worker holds is retried later;
 * 3. reports `started`, then runs the handler by its mode (see the README, "The contract"):
 *    - external / idempotent: records under the lease that the effect begins, runs the handler
 *      while renewing the lease (its `signal` fires the moment the lease is lost), stores the
 *      outcome under the lease (retrying while the database is unreachable);
 *    - transactional: in one transaction locks the claim row, runs the handler with that
 *      transaction, marks the claim completed, commits;
 *    and reports `succeeded` / `failed` on `signoff.jobs.results`. Every report (`unknown` too)
 *    carries the job's tenant, the attempt it received and the worker's credential
 *    (`authorization: Bearer <workerToken>`).
 * A report that cannot be published throws, so the bus redelivers the message, which then finds
 * the stored outcome and reports it again: reports are at least once, side effects once.
 */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? leaseMs;
  const mode: ClaimMode = options.mode === 'transactional' ? 'transactional' : options.idempotent === true ? 'idempotent' : 'external';
  const topics = signoffTopics(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
  const logger = new JsonLogger('worker');
  const log =
    options.log ?? ((level: WorkerLogLevel, message: string, fields?: Record<string, unknown>) => logger.emit(level, message, { worker: workerId, ...fields }));

  let ownClaims = false;
  let claims = options.claims;
  if (!claims) {
    const target = options.db ?? options.databaseUrl;
    if (!target) throw new Error('createWorker needs claims, db or databaseUrl');
    claims = await openClaimStore(target, { tableName: options.tableName });
    ownClaims = options.db === undefined;
  }
  if (mode === 'transactional' && !claims.supportsTransactions) {
    if (ownClaims) await claims.close();
    throw new Error('the transactional mode needs a claim store that opens transactions: a postgres:// or pglite:// URL, a pg Pool or a PGlite (not a lone pg Client)');
  }
  let ownBus = false;
  let bus = options.bus;
  if (!bus) {
    if (!options.brokers || options.brokers.length === 0) {
      if (ownClaims) await claims.close();
      throw new Error('createWorker needs a bus or brokers');
    }
    bus = new KafkaMessageBus({ brokers: options.brokers, clientId: `signoff-worker-${workerId}` });
    ownBus = true;
  }
  // With tracing on in this process (startTracing), each dispatch handled is a `process` span that
  // continues the job's trace from the message's `traceparent`, and each report carries it on.
  const theBus: MessageBus = withTracing(bus, bus instanceof KafkaMessageBus ? 'kafka' : 'signoff_in_process');
  const store: ClaimStore = claims;
  const keys = options.grantKeys instanceof VerificationKeySet ? options.grantKeys : VerificationKeySet.from(options.grantKeys);
  const registry = options.registry ?? new Registry();
  const refused = refusalCounter(registry);
  const token = options.workerToken;
  const clock = options.clock ?? (() => new Date());
  let stopping = false;
  const inFlight = new Set<Promise<unknown>>();
  let subscription: Subscription | null = null;


  /** Reports on `signoff.jobs.results`, naming the job as its dispatch did (job id and tenant), the attempt, and this worker's credential. */
  async function report(job: DispatchedJob, outcome: JobResultOutcome): Promise<void> {
    const credential = typeof token === 'function' ? await token() : token;
    await theBus.publish(topics.results, [jobResultMessage(job, workerId, outcome, credential)]);
  }

  /** Reports what the key's record says now (after this worker lost its lease). */
  async function reportCurrent(job: DispatchedJob, current: CompleteResult & { status: 'lease_lost' }): Promise<void> {
    const record = current.current;
    if (!record) return;
    if (record.status === 'succeeded' || record.status === 'failed') {
      await report(job, {
        status: record.status,
        ...(record.result !== undefined ? { result: record.result } : {}),
        ...(record.error !== undefined ? { error: record.error } : {}),
      });
    } else if (record.status === 'unknown') {
      await report(job, { status: 'unknown', error: record.error ?? 'outcome unknown', fencing_token: record.runs });
    }
  }

  /** A claim-store write that must land: retried while the database is unreachable, up to a bound. */
  async function persistently<T>(what: string, op: () => Promise<T>): Promise<T> {
    const deadline = performance.now() + Math.max(2 * leaseMs, 10_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await op();
      } catch (error) {
        if (performance.now() >= deadline) throw error;
        const delay = STORE_RETRY_MS[Math.min(attempt, STORE_RETRY_MS.length - 1)];
        log('warn', `${what} failed, retrying in ${delay} ms`, { error: (error as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  async function reportRan(job: DispatchedJob, outcome: StoredOutcome): Promise<ProcessOutcome> {
    await report(job, outcome);
    log(outcome.status === 'succeeded' ? 'info' : 'warn', `job ${outcome.status}`, {
      job_id: job.job_id,
      idempotency_key: job.idempotency_key,
      attempt: job.attempt,
      mode,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    return 'ran';
  }

  async function lostAfterRun(job: DispatchedJob, lost: CompleteResult & { status: 'lease_lost' }, outcome: StoredOutcome | null): Promise<ProcessOutcome> {
    log('error', 'the claim was taken over or marked unknown while the side effect ran: this outcome could not be stored', {
      job_id: job.job_id,
      idempotency_key: job.idempotency_key,
      now_held_by: lost.current?.owner ?? null,
      claim_status: lost.current?.status ?? null,
      // What this worker saw, for the operator who resolves the job.
      ...(outcome ? { outcome: outcome.status, ...(outcome.error ? { error: outcome.error } : {}) } : {}),
    });
    await reportCurrent(job, lost);
    return 'lease_lost';
  }

  /** External and idempotent modes: mark, run with a kept lease, store under the lease. */
  async function runExternal(job: DispatchedJob, lease: Lease, keeper: LeaseKeeper): Promise<ProcessOutcome> {
    try {
      // 1. from here a lost lease of an external claim is `unknown`, never a silent re-run
      if (!(await store.markEffectStarted(lease))) {
        log('warn', 'the claim was taken over before the side effect began: not running', { job_id: job.job_id, idempotency_key: job.idempotency_key });
        return 'lease_lost';
      }
      // 2. the side effect
      let outcome: StoredOutcome;
      let gaveUp: unknown = null;
      try {
        const result: unknown = await inSpan('run job', { attributes: runAttributes(job, mode) }, () =>
          (options.handler as JobHandler)(job, {
            idempotencyKey: job.idempotency_key,
            fencingToken: lease.fencingToken,
            attempt: job.attempt,
            workerId,
            signal: keeper.signal,
          }),
        );
        outcome = { status: 'succeeded', result: result === undefined ? null : result };
      } catch (error) {
        // A throw after the lease was lost says nothing about what the effect did.
        if (keeper.signal.aborted) gaveUp = error;
        outcome = failedOutcome(error);
      }
      await options.fault?.('before-complete', job);
      if (gaveUp !== null) {
        const reason = abandonedReason(workerId, lease, keeper.signal.reason, gaveUp);
        if (mode === 'idempotent') {
          // Free the key for a takeover (higher fencing token) and let the bus redeliver.
          await persistently('expiring the lease', () => store.expire(lease));
          throw new LeaseLostError(job.idempotency_key, reason);
        }
        if (await persistently('marking the outcome unknown', () => store.markUnknown(lease, reason))) {
          log('error', 'the lease was lost while the side effect was under way: outcome unknown, reported for an operator', {
            job_id: job.job_id,
            idempotency_key: job.idempotency_key,
            reason,
          });
          await report(job, { status: 'unknown', error: reason, fencing_token: lease.fencingToken });
          return 'unknown';
        }
        return lostAfterRun(job, { status: 'lease_lost', current: await store.get(lease.key) }, null);
      }
      // 3. the outcome, under the lease: a database that comes back finds the lease still ours
      const stored = await persistently('storing the outcome', () => store.complete(lease, outcome));
      if (stored.status === 'lease_lost') return lostAfterRun(job, stored, outcome);
      return reportRan(job, outcome);
    } finally {
      keeper.stop();
    }
  }

  /** Transactional mode: lock, run with the transaction, complete, commit: one transaction. */
  async function runTransactional(job: DispatchedJob, lease: Lease, keeper: LeaseKeeper): Promise<ProcessOutcome> {
    const handler = options.handler as TransactionalJobHandler;
    let result;
    try {
      result = await store.runTransactionally(
        lease,
        async (tx, connectionLost) => {
          // The row lock holds the claim from here: renewals from another connection would only wait on it.
          keeper.stop();
          const value: unknown = await inSpan('run job', { attributes: runAttributes(job, mode) }, () =>
            handler(job, {
              idempotencyKey: job.idempotency_key,
              fencingToken: lease.fencingToken,
              attempt: job.attempt,
              workerId,
              signal: connectionLost,
              tx,
            }),
          );
          await options.fault?.('before-complete', job);
          return value;
        },
        { leaseMs },
      );
    } finally {
      keeper.stop();
    }
    if (result.status === 'lease_lost') {
      log('warn', 'the claim was taken over before its transaction locked it: not running', { job_id: job.job_id, idempotency_key: job.idempotency_key });
      await reportCurrent(job, result);
      return 'lease_lost';
    }
    return reportRan(job, result.outcome);
  }

  /** Why the last refused message was refused (its DLQ code and detail), per message. */
  const refusals = new WeakMap<InboundMessage, { code: string; detail: string }>();

  async function handleMessage(message: InboundMessage): Promise<ProcessOutcome> {
    let value: unknown = null;
    try {
      value = message.value === null ? null : JSON.parse(message.value.toString('utf8'));
    } catch {
      value = null;
    }
    const verified = await verifyDispatch({ value, headers: message.headers, key: message.key }, keys, { now: clock() });
    if (!verified.ok) {
      // Nothing runs and nothing is claimed or reported: an unverified message says nothing about
      // the job it names (a forged one must not be able to fail a real job), and a genuine
      // delivery of the key is still free to run. The subscription dead-letters it.
      log('error', 'refusing a dispatch message', {
        code: verified.code,
        detail: verified.detail,
        job_id: verified.job_id,
        at: `${message.topic}[${message.partition}]@${message.offset}`,
      });
      refusals.set(message, { code: verified.code, detail: verified.detail });
      return 'refused';
    }
    const job = verified.job;
    if (options.accepts && !options.accepts(job)) return 'skipped';

    const claimSentAt = performance.now();
    const claim = await store.claim({ key: job.idempotency_key, jobId: job.job_id, jobHash: job.job_hash, owner: workerId, leaseMs, mode });
    switch (claim.status) {
      case 'completed':
        log('info', 'duplicate delivery: reporting the stored outcome, not running again', {
          job_id: job.job_id,
          idempotency_key: job.idempotency_key,
          attempt: job.attempt,
        });
        await report(job, claim.outcome);
        return 'duplicate';
      case 'unknown':
        log(claim.marked ? 'error' : 'info', claim.marked ? 'found a lost lease whose side effect may have happened: outcome unknown, not running again' : 'the outcome of this key is unknown: reporting it again, not running', {
          job_id: job.job_id,
          idempotency_key: job.idempotency_key,
          attempt: job.attempt,
          ran_by: claim.owner,
          run: claim.runs,
        });
        await report(job, { status: 'unknown', error: claim.reason, fencing_token: claim.runs });
        return 'unknown';
      case 'busy':
        throw new ClaimBusyError(job.idempotency_key, claim.owner, claim.leaseExpiresAt);
      case 'conflict':
        log('error', 'idempotency key already used by other job content: refusing', {
          job_id: job.job_id,
          idempotency_key: job.idempotency_key,
          claimed_for: claim.jobId,
        });
        await report(job, { status: 'failed', error: 'idempotency_key_conflict' });
        refusals.set(message, { code: 'idempotency_key_conflict', detail: `idempotency key ${job.idempotency_key} was claimed for job ${claim.jobId}` });
        return 'refused';
      case 'claimed':
        break;
      default: {
        const _exhaustive: never = claim;
        throw new Error('unknown claim result');
      }
    }
    if (claim.takeover) {
      log('warn', 'took over an expired claim (its worker stopped renewing it)', { idempotency_key: job.idempotency_key, runs: claim.runs, mode });
    }
    const keeper = new LeaseKeeper(store, claim.lease, leaseMs, claimSentAt, (error) =>
      log('warn', 'lease renewal failed', { idempotency_key: claim.lease.key, error: error.message }),
    );
    try {
      await report(job, { status: 'started' });
    } catch (error) {
      // Nothing ran yet: give the key back so the redelivery can claim it at once.
      keeper.stop();
      await store.release(claim.lease).catch(() => undefined);
      throw error;
    }
    try {
      await options.fault?.('after-claim', job);
    } catch (error) {
      keeper.stop();
      throw error;
    }
    return mode === 'transactional' ? runTransactional(job, claim.lease, keeper) : runExternal(job, claim.lease, keeper);
  }

  /** Tracks a message under way, so `stop()` can wait for it. */
  function tracked(message: InboundMessage): Promise<ProcessOutcome> {
    if (stopping) return Promise.reject(new Error('worker stopping'));
    const run = handleMessage(message);
    inFlight.add(run);
    const forget = () => inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  return {
    workerId,
    registry,
    process: tracked,
    async start() {
      await theBus.ensureTopics([
        { name: topics.dispatch, partitions: DEFAULT_PARTITIONS },
        { name: topics.results, partitions: DEFAULT_PARTITIONS },
        { name: topics.dispatchDlq, partitions: DEFAULT_PARTITIONS },
      ]);
      subscription = await theBus.subscribe({
        groupId: options.groupId ?? 'signoff-workers',
        topics: [topics.dispatch],
        // Refused dispatch messages go to `signoff.jobs.dispatch.dlq` (error-code = the refusal).
        // Anything else (a claim another worker holds, the claim store's database, the results
        // topic, even a bug) is retried: a dispatch must not be parked while its job may still run.
        deadLetter: {
          classify: (error) => (error instanceof PermanentMessageError ? classifyFailure(error) : { ...classifyFailure(error), kind: 'transient' }),
          // Every consumer group refuses for itself: say which worker did.
          headers: { 'refused-by': workerId },
          onDeadLettered: ({ message, failure, dlq }) => {
            if (isRefusalCode(failure.code)) refused.inc({ code: failure.code });
            log('warn', 'dispatch message dead-lettered', { code: failure.code, detail: failure.detail, dlq, at: `${message.topic}[${message.partition}]@${message.offset}` });
          },
        },
        handler: async (message) => {
          const outcome = await tracked(message);
          const refusal = refusals.get(message);
          if (outcome === 'refused' && refusal) throw new PermanentMessageError(refusal.code, refusal.detail);
        },
      });
      log('info', 'worker consuming', { topic: topics.dispatch, group: options.groupId ?? 'signoff-workers', mode, grant_keys: keys.description });
    },
    async stop() {
      // Handlers under way finish (up to stopTimeoutMs) before the connections close: a stop is
      // not a lost lease, and a handler aborted by it would leave an outcome nobody knows.
      stopping = true;
      const draining = Promise.allSettled([...inFlight]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([draining, new Promise((r) => (timer = setTimeout(r, stopTimeoutMs)))]);
      clearTimeout(timer);
      await subscription?.stop();
      subscription = null;
      if (ownBus) await theBus.close();
      if (ownClaims) await store.close();
    },
  };
}

/** The attributes of a handler's `run job` span: ids and the mode, never the payload. */
function runAttributes(job: DispatchedJob, mode: ClaimMode): Record<string, string | number> {
  return { 'signoff.job.id': job.job_id, 'signoff.job.topic': job.topic, 'signoff.dispatch.attempt': job.attempt, 'signoff.worker.mode': mode };
}
