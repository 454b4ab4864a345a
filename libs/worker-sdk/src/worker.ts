import { hostname } from 'node:os';
import { DEFAULT_PARTITIONS, DEFAULT_TOPIC_PREFIX, HEADERS, signoffTopics } from '@signoff/contracts';
import { KeySetSource, VerificationKeySet } from '@signoff/keys';
import { classifyFailure, InboundMessage, KafkaMessageBus, MessageBus, PermanentMessageError, Subscription, TransientMessageError } from '@signoff/messaging';
import { JsonLogger } from '@signoff/observability';
import { Counter, Registry } from 'prom-client';
import { openClaimStore } from './claim-store.factory';
import { ClaimStore, Lease, StoredOutcome } from './claim-store.port';
import { DispatchedJob, REFUSAL_CODES, RefusalCode, verifyDispatch } from './dispatch-verification';
import { SqlQueryable } from './sql-claim.store';

/** What a handler gets besides the job. */
export interface JobContext {
  /** The job's idempotency key: pass it on to downstream APIs that take one (payments, mail). */
  readonly idempotencyKey: string;
  readonly attempt: number;
  readonly workerId: string;
  /** Aborted when this worker lost its claim (lease taken over) or is stopping. */
  readonly signal: AbortSignal;
}

/**
 * Runs the side effect of one job and returns its result (JSON). A thrown error records the job
 * as `failed` with the error's message; the side effect is not run again for this job.
 */
export type JobHandler = (job: DispatchedJob, context: JobContext) => unknown;

export type WorkerLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The worker's credential: a JWT with the role `worker`, or a function that returns a current one. */
export type WorkerToken = string | (() => string | Promise<string>);

export interface WorkerOptions {
  /** The side effect. */
  readonly handler: JobHandler;
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
  /** A message bus you hold (the standalone's in-process bus, a shared Kafka bus)... */
  readonly bus?: MessageBus;
  /** ...or Kafka bootstrap brokers: the worker opens (and closes) its own Kafka bus. */
  readonly brokers?: readonly string[];
  /** KAFKA_TOPIC_PREFIX (default `signoff.`). */
  readonly topicPrefix?: string;
  /** Consumer group: instances sharing it split the dispatched jobs (default `signoff-workers`). */
  readonly groupId?: string;
  /** A claim store you hold... */
  readonly claims?: ClaimStore;
  /** ...or where to keep the claims: `postgres://…`, `pglite://<dir>|memory`... */
  readonly databaseUrl?: string;
  /** ...or a pg Pool / pg Client / PGlite you hold. */
  readonly db?: SqlQueryable;
  /** Claim table name (default `signoff_worker_claims`). */
  readonly tableName?: string;
  /** This worker's name in claims and reports (default `<host>:<pid>`). */
  readonly workerId?: string;
  /** How long a claim holds without renewal; renewed every third of it while the handler runs (default 30 s). */
  readonly leaseMs?: number;
  /** Jobs this worker takes; others are left alone (acknowledged without a claim or a report). */
  readonly accepts?: (job: DispatchedJob) => boolean;
  readonly log?: (level: WorkerLogLevel, message: string, fields?: Record<string, unknown>) => void;
}

/** What {@link Worker.process} did with one message. */
export type ProcessOutcome =
  /** The side effect ran (and its outcome was stored and reported). */
  | 'ran'
  /** The key was completed before: the stored outcome was reported again, nothing ran. */
  | 'duplicate'
  /** Refused before running (see RefusalCode; dead-lettered), or an idempotency key conflict. */
  | 'refused'
  /** Not for this worker (`accepts`). */
  | 'skipped'
  /** It ran, but another worker took the claim over meanwhile (this one was presumed dead). */
  | 'lease_lost';

/** A running worker. */
export interface Worker {
  readonly workerId: string;
  /** The worker's metrics (`signoff_worker_dispatch_refused_total{code}`): serve them on /metrics. */
  readonly registry: Registry;
  /** Subscribes to `signoff.jobs.dispatch` (creating the topics when missing). */
  start(): Promise<void>;
  /** Stops consuming and closes what the worker opened itself. */
  stop(): Promise<void>;
  /**
   * Handles one dispatch message (what the subscription calls; exposed for in-process use and
   * tests). A refused message resolves `refused`; only the subscription dead-letters it.
   */
  process(message: InboundMessage): Promise<ProcessOutcome>;
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

const MAX_ERROR_LENGTH = 2000;

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

/**
 * Creates a Signoff worker (DESIGN sections 3 and 6): it consumes `signoff.jobs.dispatch` and,
 * for each message,
 * 1. verifies it, the signature first (`verifyDispatch`: a grant signed by a key of `grantKeys`,
 *    unexpired, whose every covered field equals the body's, and a job hash recomputed from what
 *    was received equal to the granted one); a refused message never runs, claims nothing, is
 *    reported nowhere but on `signoff.jobs.dispatch.dlq` (with `error-code`, `error-detail` and
 *    `refused-by`: this worker's id; dead-lettered by the subscription, as every Signoff
 *    consumer's dead letters are) and in `signoff_worker_dispatch_refused_total{code}`;
 * 2. claims the idempotency key in the claim table BEFORE running anything (an atomic
 *    insert-or-take-over-an-expired-lease); a completed key reports its stored outcome again
 *    without running; a key another live worker holds is retried later;
 * 3. reports `started`, runs the handler while renewing the lease, stores the outcome under the
 *    lease, and reports `succeeded` / `failed` on `signoff.jobs.results`, every report with the
 *    attempt it received and the worker's credential (`authorization: Bearer <workerToken>`).
 * A report that cannot be published throws, so the bus redelivers the message, which then finds
 * the stored outcome and reports it again: reports are at least once, side effects once.
 *
 * The side effect runs at most once as long as a handler finishes within its lease, which the
 * worker renews every third of `leaseMs`; a worker that stalls longer than the lease (a frozen
 * process) may be taken over and is fenced out of storing its outcome (`lease_lost`, logged as an
 * error). Handlers that call external APIs should pass `context.idempotencyKey` on to them.
 */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}`;
  const leaseMs = options.leaseMs ?? 30_000;
  const topics = signoffTopics(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX);
  const logger = new JsonLogger('worker');
  const log =
    options.log ?? ((level: WorkerLogLevel, message: string, fields?: Record<string, unknown>) => logger.emit(level, message, { worker: workerId, ...fields }));

  let ownBus = false;
  let bus = options.bus;
  if (!bus) {
    if (!options.brokers || options.brokers.length === 0) throw new Error('createWorker needs a bus or brokers');
    bus = new KafkaMessageBus({ brokers: options.brokers, clientId: `signoff-worker-${workerId}` });
    ownBus = true;
  }
  let ownClaims = false;
  let claims = options.claims;
  if (!claims) {
    const target = options.db ?? options.databaseUrl;
    if (!target) throw new Error('createWorker needs claims, db or databaseUrl');
    claims = await openClaimStore(target, { tableName: options.tableName });
    ownClaims = options.db === undefined;
  }
  const theBus: MessageBus = bus;
  const store: ClaimStore = claims;
  const keys = options.grantKeys instanceof VerificationKeySet ? options.grantKeys : VerificationKeySet.from(options.grantKeys);
  const registry = options.registry ?? new Registry();
  const refused = refusalCounter(registry);
  const token = options.workerToken;
  const clock = options.clock ?? (() => new Date());
  const stopping = new AbortController();
  let subscription: Subscription | null = null;

  /** Reports on `signoff.jobs.results`, naming the job as its dispatch did (job id and tenant), the attempt, and this worker's credential. */
  async function report(job: DispatchedJob, outcome: { status: 'started' } | StoredOutcome): Promise<void> {
    const credential = typeof token === 'function' ? await token() : token;
    await theBus.publish(topics.results, [
      {
        key: job.job_id,
        value: { job_id: job.job_id, tenant: job.tenant, idempotency_key: job.idempotency_key, attempt: job.attempt, worker: workerId, ...outcome },
        headers: { [HEADERS.idempotencyKey]: job.idempotency_key, [HEADERS.authorization]: `Bearer ${credential}` },
      },
    ]);
  }

  async function run(job: DispatchedJob, lease: Lease): Promise<ProcessOutcome> {
    const lost = new AbortController();
    const signal = AbortSignal.any([lost.signal, stopping.signal]);
    const renewal = setInterval(() => {
      store.renew(lease, leaseMs).then(
        (held) => {
          if (!held) lost.abort(new Error('lease lost'));
        },
        (error: unknown) => log('warn', 'lease renewal failed', { idempotency_key: lease.key, error: (error as Error).message }),
      );
    }, Math.max(10, Math.floor(leaseMs / 3)));
    let outcome: StoredOutcome;
    try {
      const result: unknown = await options.handler(job, { idempotencyKey: job.idempotency_key, attempt: job.attempt, workerId, signal });
      outcome = { status: 'succeeded', result: result === undefined ? null : result };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { status: 'failed', error: message.slice(0, MAX_ERROR_LENGTH) || 'handler failed' };
    } finally {
      clearInterval(renewal);
    }
    const stored = await store.complete(lease, outcome);
    if (stored.status === 'lease_lost') {
      log('error', 'claim was taken over while the side effect ran: it may have run twice', {
        job_id: job.job_id,
        idempotency_key: job.idempotency_key,
        now_held_by: stored.current?.owner ?? null,
      });
      const current = stored.current;
      if (current && (current.status === 'succeeded' || current.status === 'failed')) {
        await report(job, {
          status: current.status,
          ...(current.result !== undefined ? { result: current.result } : {}),
          ...(current.error !== undefined ? { error: current.error } : {}),
        });
      }
      return 'lease_lost';
    }
    await report(job, outcome);
    log(outcome.status === 'succeeded' ? 'info' : 'warn', `job ${outcome.status}`, {
      job_id: job.job_id,
      idempotency_key: job.idempotency_key,
      attempt: job.attempt,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    return 'ran';
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

    const claim = await store.claim({ key: job.idempotency_key, jobId: job.job_id, jobHash: job.job_hash, owner: workerId, leaseMs });
    switch (claim.status) {
      case 'completed':
        log('info', 'duplicate delivery: reporting the stored outcome, not running again', {
          job_id: job.job_id,
          idempotency_key: job.idempotency_key,
          attempt: job.attempt,
        });
        await report(job, claim.outcome);
        return 'duplicate';
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
    if (claim.takeover) log('warn', 'took over an expired claim (its worker stopped renewing it)', { idempotency_key: job.idempotency_key, runs: claim.runs });
    try {
      await report(job, { status: 'started' });
    } catch (error) {
      // Nothing ran yet: give the key back so the redelivery can claim it at once.
      await store.release(claim.lease).catch(() => undefined);
      throw error;
    }
    return run(job, claim.lease);
  }

  return {
    workerId,
    registry,
    process: handleMessage,
    async start() {
      await theBus.ensureTopics([
        { name: topics.dispatch, partitions: DEFAULT_PARTITIONS },
        { name: topics.dispatchDlq, partitions: DEFAULT_PARTITIONS },
        { name: topics.results, partitions: DEFAULT_PARTITIONS },
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
          const outcome = await handleMessage(message);
          const refusal = refusals.get(message);
          if (outcome === 'refused' && refusal) throw new PermanentMessageError(refusal.code, refusal.detail);
        },
      });
      log('info', 'worker consuming', { topic: topics.dispatch, group: options.groupId ?? 'signoff-workers', grant_keys: keys.description });
    },
    async stop() {
      stopping.abort(new Error('worker stopping'));
      await subscription?.stop();
      subscription = null;
      if (ownBus) await theBus.close();
      if (ownClaims) await store.close();
    },
  };
}
