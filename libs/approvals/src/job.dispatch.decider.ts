import type { ClaimDispatch, CommandMetadata, GrantCheck, RecordDispatch, ReplayDispatch } from './job.commands';
import { checkGrantCheck, REPLAY_REASON_STAGE } from './job.command-validation';
import { accept, eventOf, instantMs, invalid, isRefusal, notFound, refuse, releasedOrRefusal } from './job.decision-kit';
import type {
  ClaimDispatchOutcome,
  DecideRefused,
  DecideResult,
  GrantVoidedOutcome,
  RecordDispatchOutcome,
  ReplayDispatchOutcome,
} from './job.outcomes';
import type { JobEvent } from '@signoff/contracts';
import { apiStateOf, evolve, grantAwaitingLogCheck, isReleased, type JobAggregateState, type ReleasedJobState } from './job.state';

/*
 * The dispatch of a released job (DESIGN sections 2, 8 and 12): a dispatcher claims the current
 * attempt, publishes it and records the publish; a replayer opens the next attempt of a job stuck
 * on the way, or gives up after `max_attempts`. An approved job's grant is judged against the log
 * before its first claim. Fields are checked by `checkCommandData` before these run.
 */

function checkKey(stored: string | null, given: string, jobId: string): DecideRefused | null {
  if (stored === null || stored === given) return null;
  return refuse('invalid_request', `job ${jobId} is dispatched under another idempotency key`, {
    errors: [{ field: 'idempotency_key', message: 'does not match the key fixed by the first claim' }],
  });
}

/** `current` of the ApprovalInvalidated of a grant that no PolicyActivated precedes in the log. */
export const NO_ACTIVE_POLICY = 'none';

/**
 * The log decides races between streams (DESIGN section 12). The approve handler checks the
 * policy its instance holds in memory, outside the job stream's expected revision, so a grant can
 * be appended under a policy another instance had already replaced. An approved job is therefore
 * dispatched only once the global log confirms its grant: the policy active at the
 * ApprovalGranted's place in the log's one order (`grant_fact`, read by the dispatcher) must be
 * one the grant was checked against:
 * - `strict` (default): the approval's `policy_snapshot`;
 * - `decision`: that, or the grant's `equivalent_snapshot` (the snapshot the completing vote was
 *   re-evaluated under and found equivalent). Any other snapshot was never evaluated for this job,
 *   so the grant is void as in strict mode.
 * A void grant yields ApprovalInvalidated (`snapshot_changed`, `expected` = the grant's
 * `policy_snapshot`, `current` = the snapshot active at its position, or `none`): the job becomes
 * INVALIDATED and is never claimed, published or replayed. The check applies until the first
 * claim, which is the confirmation. An approved job that needs it and comes without a fact about
 * this very grant is refused (`invalid_request`): nothing is dispatched on a guess.
 * Null: nothing stands in the way (an allowed job, a confirmed grant, or one the log confirms now).
 */
function judgeGrant(job: ReleasedJobState, check: GrantCheck, metadata: CommandMetadata): DecideResult<GrantVoidedOutcome> | null {
  const approval = grantAwaitingLogCheck(job);
  if (approval === null) return null;
  const checked = checkGrantCheck(check, job.job.job_id, approval.grant.approval_id);
  if (isRefusal(checked)) return checked;
  const { mode, atGrant } = checked;
  const honoured = mode === 'decision' ? [approval.policy_snapshot, approval.grant.equivalent_snapshot] : [approval.policy_snapshot];
  if (atGrant !== null && honoured.includes(atGrant)) return null;
  const current = atGrant ?? NO_ACTIVE_POLICY;
  const event = eventOf(
    'ApprovalInvalidated',
    { job_id: job.job.job_id, approval_ref: approval.approval_ref, code: 'snapshot_changed', expected: approval.policy_snapshot, current },
    metadata,
  );
  return accept([event], { job_id: job.job.job_id, status: 'invalidated', state: 'INVALIDATED', expected: approval.policy_snapshot, current });
}

/**
 * Claim the current attempt. Accepted `claimed` means: publish it (also when the same claimant
 * repeats its claim before recording the publish); `claim_lost` means: do not publish (another
 * dispatcher holds it, a later attempt exists, or the job moved past dispatch); `invalidated`
 * means: the log voided the grant (see {@link judgeGrant}), never publish.
 */
export function claimDispatch(command: ClaimDispatch, state: JobAggregateState): DecideResult<ClaimDispatchOutcome> {
  const { data, metadata } = command;
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  if (data.attempt > dispatch.attempt) {
    return invalid(`attempt ${data.attempt} is not open (current attempt ${dispatch.attempt})`, 'attempt');
  }
  if (job.status === 'PENDING' && data.attempt === dispatch.attempt) {
    const keyError = checkKey(dispatch.idempotency_key, data.idempotency_key, data.job_id);
    if (dispatch.claim === null) {
      if (keyError) return keyError;
      const voided = judgeGrant(job, data, metadata);
      if (voided) return voided;
      const event = eventOf(
        'DispatchClaimed',
        { job_id: data.job_id, attempt: data.attempt, idempotency_key: data.idempotency_key, claimed_by: data.claimed_by },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'claimed',
        attempt: data.attempt,
        idempotency_key: data.idempotency_key,
        claimed_by: data.claimed_by,
      });
    }
    if (dispatch.claim.claimed_by === data.claimed_by && !keyError) {
      return accept([], {
        job_id: data.job_id,
        status: 'claimed',
        attempt: data.attempt,
        idempotency_key: data.idempotency_key,
        claimed_by: data.claimed_by,
      });
    }
  }
  return accept([], {
    job_id: data.job_id,
    status: 'claim_lost',
    attempt: dispatch.attempt,
    claimed_by: dispatch.claim?.claimed_by ?? null,
    state: apiStateOf(job),
  });
}

/**
 * Record the publish of the current, claimed attempt. Accepted also after the worker already
 * reported (the dispatcher may record late): the publish is added to the history and the later
 * state kept. A repeated record answers `already_dispatched` (the first record wins).
 */
export function recordDispatch(command: RecordDispatch, state: JobAggregateState): DecideResult<RecordDispatchOutcome> {
  const { data, metadata } = command;
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  if (data.attempt !== dispatch.attempt) {
    return invalid(
      data.attempt < dispatch.attempt
        ? `attempt ${data.attempt} was superseded by attempt ${dispatch.attempt}`
        : `attempt ${data.attempt} is not open (current attempt ${dispatch.attempt})`,
      'attempt',
    );
  }
  if (dispatch.claim === null) return invalid(`attempt ${data.attempt} of job ${data.job_id} was never claimed`, 'attempt');
  const keyError = checkKey(dispatch.idempotency_key, data.idempotency_key, data.job_id);
  if (keyError) return keyError;
  if (dispatch.published !== null) {
    return accept([], {
      job_id: data.job_id,
      status: 'already_dispatched',
      attempt: dispatch.attempt,
      partition: dispatch.published.partition,
      offset: dispatch.published.offset,
    });
  }
  const event = eventOf(
    'JobDispatched',
    {
      job_id: data.job_id,
      attempt: data.attempt,
      idempotency_key: data.idempotency_key,
      topic: data.topic,
      partition: data.partition,
      offset: data.offset,
    },
    metadata,
  );
  return accept([event], {
    job_id: data.job_id,
    status: 'dispatched',
    attempt: data.attempt,
    state: job.status === 'PENDING' ? 'DISPATCHED' : apiStateOf(job),
  });
}

/**
 * Replay: open attempt `current + 1` for a job stuck at the stage its `reason` names
 * (`not_published`: pending, unclaimed; `not_recorded`: claimed, no publish recorded;
 * `not_acknowledged`: published, no worker report; `not_completed`: a worker reported `started`
 * and no outcome came within `run_timeout_ms`). If the job got further since the caller looked
 * -> `not_needed`; if another replayer opened the attempt -> `already_replayed`. If the new attempt
 * would exceed `max_attempts`: DispatchAbandoned, a terminal state, for a job no worker ever
 * started; for a job a worker did start (its effect may have happened) JobOutcomeUnknown instead,
 * so the job is UNKNOWN and an operator resolves it, never silently FAILED.
 * An approved job never claimed has its grant judged first (see {@link judgeGrant}): a void one is
 * invalidated, neither replayed nor abandoned.
 */
export function replayDispatch(command: ReplayDispatch, state: JobAggregateState, nowMs: number): DecideResult<ReplayDispatchOutcome> {
  const { data, metadata } = command;
  const job = releasedOrRefusal(state, data.job_id);
  if (isRefusal(job)) return job;
  const dispatch = job.dispatch;
  switch (job.status) {
    case 'DISPATCH_ABANDONED':
      return accept([], { job_id: data.job_id, status: 'already_abandoned', attempts: job.abandonment.attempts });
    case 'SUCCEEDED':
    case 'FAILED':
    case 'UNKNOWN':
      return accept([], { job_id: data.job_id, status: 'not_needed', state: apiStateOf(job) });
    case 'RUNNING':
    case 'PENDING':
    case 'DISPATCHED':
      break;
    default: {
      const _exhaustive: never = job;
      return notFound(data.job_id);
    }
  }
  if (data.attempt <= dispatch.attempt) {
    return accept([], { job_id: data.job_id, status: 'already_replayed', attempt: dispatch.attempt });
  }
  if (data.attempt > dispatch.attempt + 1) {
    return invalid(`the next attempt is ${dispatch.attempt + 1}, not ${data.attempt}`, 'attempt');
  }
  const stage = job.status === 'RUNNING' ? 3 : job.status === 'DISPATCHED' ? 2 : dispatch.claim !== null ? 1 : 0;
  const reasonStage = REPLAY_REASON_STAGE[data.reason];
  if (stage > reasonStage) return accept([], { job_id: data.job_id, status: 'not_needed', state: apiStateOf(job) });
  if (stage < reasonStage) {
    // The stages only move forward within an attempt, so this is not a race but a wrong reason.
    return invalid(`reason ${data.reason} does not describe attempt ${dispatch.attempt} of job ${data.job_id}`, 'reason');
  }
  if (job.status === 'RUNNING' && data.run_timeout_ms !== undefined) {
    // A lagging index may see an old start: the run timeout counts from the start recorded in the stream.
    const startedMs = instantMs(job.started.at);
    if (startedMs !== null && nowMs < startedMs + data.run_timeout_ms) {
      return accept([], { job_id: data.job_id, status: 'not_needed', state: apiStateOf(job) });
    }
  }
  // A grant the log voids is invalidated, not replayed (nor abandoned: it was never dispatchable).
  const voided = judgeGrant(job, data, metadata);
  if (voided) return voided;
  if (data.attempt > data.max_attempts) {
    if (job.started !== null && dispatch.idempotency_key !== null) {
      const event = eventOf(
        'JobOutcomeUnknown',
        {
          job_id: data.job_id,
          idempotency_key: dispatch.idempotency_key,
          worker: job.started.worker,
          reason: `no outcome after ${dispatch.attempt} dispatch attempts (max ${data.max_attempts}, last stuck ${data.reason}); the job was started by ${job.started.worker}`,
        },
        metadata,
      );
      return accept([event], {
        job_id: data.job_id,
        status: 'outcome_unknown',
        attempts: dispatch.attempt,
        max_attempts: data.max_attempts,
      });
    }
    const event = eventOf(
      'DispatchAbandoned',
      { job_id: data.job_id, attempts: dispatch.attempt, max_attempts: data.max_attempts, reason: data.reason },
      metadata,
    );
    return accept([event], {
      job_id: data.job_id,
      status: 'abandoned',
      attempts: dispatch.attempt,
      max_attempts: data.max_attempts,
    });
  }
  const event = eventOf('DispatchReplayed', { job_id: data.job_id, attempt: data.attempt, reason: data.reason }, metadata);
  if (data.claim === undefined) return accept([event], { job_id: data.job_id, status: 'replayed', attempt: data.attempt });
  return claimReplayed(command, evolve(job, event), event);
}

/**
 * A replay that claims the attempt it opens: the ClaimDispatch of `claim.claimed_by`, decided on
 * the state after the DispatchReplayed (the attempt's key: the one fixed by the first claim, else
 * `claim.idempotency_key`; the grant judged by the same log fact the replay was judged by), so
 * both events leave in one append and the claim fences other dispatchers as a separate one would.
 * A claim the decider would not make leaves the replay alone (the caller then claims as usual).
 */
function claimReplayed(command: ReplayDispatch, replayed: JobAggregateState, event: JobEvent): DecideResult<ReplayDispatchOutcome> {
  const { data, metadata } = command;
  const replay = { job_id: data.job_id, status: 'replayed', attempt: data.attempt } as const;
  const claim = data.claim;
  if (claim === undefined || !isReleased(replayed)) return accept([event], replay);
  const key = replayed.dispatch.idempotency_key;
  const grantCheck = { ...(data.grant_fact ? { grant_fact: data.grant_fact } : {}), ...(data.snapshot_mode ? { snapshot_mode: data.snapshot_mode } : {}) };
  const claimed = claimDispatch(
    {
      type: 'ClaimDispatch',
      data: { job_id: data.job_id, attempt: data.attempt, idempotency_key: key ?? claim.idempotency_key, claimed_by: claim.claimed_by, ...grantCheck },
      metadata,
    },
    replayed,
  );
  if (!claimed.ok || claimed.outcome.status !== 'claimed' || claimed.events.length === 0) return accept([event], replay);
  return accept([event, ...claimed.events], { ...replay, claimed: claimed.outcome });
}

