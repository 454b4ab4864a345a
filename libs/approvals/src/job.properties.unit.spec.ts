import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequestedData, JobEvent } from '@signoff/contracts';
import type { JobCommand } from './job.commands';
import { decide } from './job.decider';
import { foldJob, initialState, isReleased, type JobAggregateState } from './job.state';
import { toJobView } from './job.view';
import {
  FINANCE_ROLES,
  HASH_1,
  HASH_2,
  KEY,
  RITA,
  SAM,
  SNAP_A,
  SNAP_B,
  SUBMITTER,
  TIMEOUT_MS,
  TOM,
  at,
  cmd,
  ev,
} from './testing/job.test-kit';

// ---------------------------------------------------------------------------------------------
// arbitraries: commands from small pools, so collisions (same reviewer, same attempt) are common

/** Mostly the value that passes the checks, sometimes one that does not. */
function mostly<T>(usual: T, ...others: T[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constant(usual), weight: 4 }, { arbitrary: fc.constantFrom(usual, ...others), weight: 1 });
}

const reviewer = fc.constantFrom(RITA, SAM, TOM, SUBMITTER);
const roles = mostly<readonly string[]>(FINANCE_ROLES, ['reviewer'], []);
const snapshot = mostly(SNAP_A, SNAP_B);
const hash = mostly(HASH_1, HASH_2);
const key = mostly(KEY, 'idem-other');
/** Offset from the job's current attempt: mostly the right one. */
const attemptOffset = mostly(0, -1, 1, 2);
const reason = fc.constantFrom('not_published' as const, 'not_recorded' as const, 'not_acknowledged' as const, 'not_completed' as const);

/** A command without its clock and id, which are applied when the sequence runs. */
type Template = (now: string, commandId: string, state: JobAggregateState) => JobCommand;

/** The attempt a real dispatcher would name: the job's current one (1 before any dispatch). */
function currentAttempt(state: JobAggregateState): number {
  return isReleased(state) ? state.dispatch.attempt : 1;
}

const submitTemplate: fc.Arbitrary<Template> = fc
  .record({
    decision: fc.constantFrom('allow' as const, 'deny' as const, 'require_human' as const, 'require_human' as const),
    required: fc.integer({ min: 1, max: 3 }),
    reviewers: fc.constantFrom<string[]>([], ['finance-approver']),
    job_hash: hash,
  })
  .map((p): Template => (now, commandId) =>
    cmd.submit({ now, commandId, job_hash: p.job_hash, policy: { decision: p.decision }, approval: { required: p.required, reviewers: p.reviewers } }),
  );

const template: fc.Arbitrary<Template> = fc.oneof(
  { arbitrary: submitTemplate, weight: 1 },
  {
    weight: 4,
    arbitrary: fc
      .record({
        reviewer,
        reviewer_roles: roles,
        active_policy_snapshot: snapshot,
        snapshot_equivalent: fc.option(fc.boolean(), { nil: undefined }),
        current_job_hash: hash,
        reviewed_snapshot: fc.option(snapshot, { nil: undefined, freq: 2 }),
        reviewed_job_hash: fc.option(hash, { nil: undefined, freq: 2 }),
      })
      .map((p): Template => (now, commandId) => {
        const { snapshot_equivalent, reviewed_snapshot, reviewed_job_hash, ...rest } = p;
        return cmd.approve({
          now,
          commandId,
          approval_id: `approval-${commandId}`,
          ...rest,
          ...(snapshot_equivalent === undefined ? {} : { snapshot_equivalent }),
          ...(reviewed_snapshot === undefined ? {} : { reviewed_snapshot }),
          ...(reviewed_job_hash === undefined ? {} : { reviewed_job_hash }),
        });
      }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ reviewer, reviewer_roles: roles }).map((p): Template => (now, commandId) => cmd.reject({ now, commandId, ...p })),
  },
  { weight: 1, arbitrary: fc.constant<Template>((now, commandId) => cmd.expire({ now, commandId })) },
  {
    weight: 1,
    arbitrary: fc
      .record({
        code: fc.constantFrom('snapshot_changed' as const, 'job_request_changed' as const),
        expected: fc.constantFrom(SNAP_A, HASH_1, SNAP_B),
        current: fc.constantFrom(SNAP_B, HASH_2),
      })
      .map((p): Template => (now, commandId) => cmd.invalidate({ now, commandId, ...p })),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ offset: attemptOffset, idempotency_key: key, claimed_by: fc.constantFrom('dispatcher-a', 'dispatcher-b') })
      .map(({ offset, ...p }): Template => (now, commandId, state) =>
        cmd.claim({ now, commandId, attempt: Math.max(1, currentAttempt(state) + offset), ...p }),
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ offset: attemptOffset, idempotency_key: key, partition: fc.integer({ min: 0, max: 5 }) })
      .map(({ offset, ...p }): Template => (now, commandId, state) =>
        cmd.record({ now, commandId, attempt: Math.max(1, currentAttempt(state) + offset), ...p }),
      ),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({ offset: attemptOffset, reason, max_attempts: fc.integer({ min: 1, max: 4 }), run_timeout_ms: mostly(1_000, 60_000, 0) })
      .map(({ offset, ...p }): Template => (now, commandId, state) =>
        cmd.replay({ now, commandId, attempt: Math.max(1, currentAttempt(state) + 1 + offset), ...p }),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ idempotency_key: key, worker: fc.constantFrom('worker-2', '') })
      .map((p): Template => (now, commandId) => cmd.unknown({ now, commandId, ...p })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ outcome: fc.constantFrom('succeeded' as const, 'failed' as const), reason: mostly('checked downstream', '') })
      .map((p): Template => (now, commandId) => cmd.resolve({ now, commandId, ...p })),
  },
  {
    weight: 2,
    arbitrary: fc.record({ idempotency_key: key }).map((p): Template => (now, commandId) => cmd.started({ now, commandId, ...p })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ idempotency_key: key, status: fc.constantFrom('succeeded' as const, 'failed' as const) })
      .map((p): Template => (now, commandId) => cmd.completed({ now, commandId, ...p })),
  },
);

/** Clock steps between commands: mostly small, sometimes across the 30 minute approval timeout. */
const step = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1, 1_000, 60_000), weight: 8 },
  { arbitrary: fc.constantFrom(TIMEOUT_MS / 2, TIMEOUT_MS - 1, TIMEOUT_MS), weight: 1 },
);

/** Scripts usually start with a submission, so the later commands have a job to act on. */
const script = fc.tuple(
  fc.option(submitTemplate, { nil: undefined, freq: 5 }),
  fc.array(fc.tuple(template, step), { minLength: 1, maxLength: 40 }),
);

interface Step {
  readonly command: JobCommand;
  readonly before: JobAggregateState;
  readonly events: JobEvent[];
  readonly ok: boolean;
  readonly outcome?: { readonly status: string };
}

function run([first, steps]: [Template | undefined, Array<[Template, number]>]): {
  trace: Step[];
  stream: JobEvent[];
  state: JobAggregateState;
} {
  let clock = 0;
  let state = initialState();
  const stream: JobEvent[] = [];
  const trace: Step[] = [];
  const commands: Array<[Template, number]> = first ? [[first, 0], ...steps] : steps;
  commands.forEach(([make, delta], i) => {
    clock += delta;
    const command = make(at(clock), `cmd-${i}`, state);
    const result = decide(command, state);
    const events = result.ok ? result.events : [];
    trace.push({ command, before: state, events, ok: result.ok, ...(result.ok ? { outcome: result.outcome } : {}) });
    stream.push(...events);
    state = foldJob(events, state);
  });
  return { trace, stream, state };
}

const TERMINAL_REFUSALS = new Set(['DENIED', 'REJECTED', 'EXPIRED', 'INVALIDATED']);
const DISPATCH_EVENTS = new Set([
  'DispatchClaimed',
  'JobDispatched',
  'DispatchReplayed',
  'DispatchAbandoned',
  'JobStarted',
  'JobCompleted',
  'JobOutcomeUnknown',
  'JobOutcomeResolved',
]);

describe('properties of the job decider', () => {
  it('any command sequence: decide never throws, the stream folds to the same state, the view never throws', () => {
    fc.assert(
      fc.property(script, (input) => {
        const { stream, state } = run(input);
        expect(foldJob(stream)).toEqual(state);
        toJobView(state);
      }),
      { numRuns: 400 },
    );
  });

  it('every accepted command is idempotent: deciding it again on the result appends nothing', () => {
    fc.assert(
      fc.property(script, (input) => {
        for (const { command, before, events, ok } of run(input).trace) {
          if (!ok) continue;
          const after = foldJob(events, before);
          const again = decide(command, after);
          expect(again, `${command.type} repeated after ${JSON.stringify(events.map((e) => e.type))}`).toMatchObject({
            ok: true,
            events: [],
          });
          if (command.type === 'ApproveJob' && again.ok) {
            const first = decide(command, before);
            if (first.ok && first.outcome.status === 'approved') {
              expect(again.outcome).toEqual({
                job_id: command.data.job_id,
                status: 'already_approved',
                approval_id: first.outcome.approval_id,
                state: first.outcome.state,
              });
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the stream keeps the invariants of DESIGN section 8 whatever the commands', () => {
    fc.assert(
      fc.property(script, (input) => {
        const { trace, stream } = run(input);
        const submitted = stream.find((e) => e.type === 'JobSubmitted');
        const requested = stream.find((e) => e.type === 'ApprovalRequested')?.data as ApprovalRequestedData | undefined;
        const decision = stream.find((e) => e.type === 'PolicyEvaluated');
        const grants = stream.filter((e) => e.type === 'ApprovalGranted');
        const votes = stream.filter((e) => e.type === 'ApprovalVoteRecorded');

        // 3: at most one grant; quorum of distinct reviewers, the submitter never among them.
        expect(grants.length).toBeLessThanOrEqual(1);
        const voters = votes.map((v) => (v.type === 'ApprovalVoteRecorded' ? v.data.reviewer : ''));
        expect(new Set(voters).size).toBe(voters.length);
        if (submitted?.type === 'JobSubmitted') expect(voters).not.toContain(submitted.data.request.submitted_by);
        for (const g of grants) {
          if (g.type !== 'ApprovalGranted' || !requested) throw new Error('grant without request');
          expect(new Set(g.data.approved_by).size).toBe(g.data.approved_by.length);
          expect(g.data.approved_by.length).toBeGreaterThanOrEqual(requested.requirement.required);
          expect(g.data.approved_by).toEqual(voters.slice(0, g.data.approved_by.length));
          expect([g.data.policy_snapshot, g.data.job_hash]).toEqual([requested.policy_snapshot, requested.job_hash]);
        }

        // 1 and 2: nothing moves towards dispatch unless allowed, or after the grant.
        const released = decision?.type === 'PolicyEvaluated' && decision.data.decision === 'allow';
        let granted = false;
        for (const e of stream) {
          if (e.type === 'ApprovalGranted') granted = true;
          if (DISPATCH_EVENTS.has(e.type)) expect(released || granted, `${e.type} of an unreleased job`).toBe(true);
        }

        // An UNKNOWN job is never dispatched again; only an unknown outcome is resolved, once.
        const unknownAt = stream.findIndex((e) => e.type === 'JobOutcomeUnknown');
        if (unknownAt >= 0) {
          expect(stream.slice(unknownAt).filter((e) => e.type === 'DispatchClaimed' || e.type === 'DispatchReplayed')).toEqual([]);
        }
        const resolutions = stream.filter((e) => e.type === 'JobOutcomeResolved');
        expect(resolutions.length).toBeLessThanOrEqual(1);
        if (resolutions.length === 1) expect(unknownAt).toBeGreaterThanOrEqual(0);

        // Exactly-once at the worker: one idempotency key for the whole job.
        const keys = new Set(stream.flatMap((e) => ('idempotency_key' in e.data ? [e.data.idempotency_key] : [])));
        expect(keys.size).toBeLessThanOrEqual(1);

        // Publish once: per attempt, one dispatcher (ever) is told to publish.
        const claimants = new Map<number, Set<string>>();
        for (const { command, outcome } of trace) {
          if (command.type !== 'ClaimDispatch' || outcome?.status !== 'claimed') continue;
          const set = claimants.get(command.data.attempt) ?? new Set<string>();
          set.add(command.data.claimed_by);
          claimants.set(command.data.attempt, set);
        }
        for (const set of claimants.values()) expect(set.size).toBe(1);

        for (const { command, before, events } of trace) {
          // Terminal refusals stay terminal.
          if (TERMINAL_REFUSALS.has(before.status)) expect(events).toEqual([]);
          // An approval counted only under the bound snapshot (or an equivalent one) and job hash,
          // and before it expired.
          if (command.type === 'ApproveJob' && events.length > 0 && before.status === 'APPROVAL_REQUIRED') {
            const d = command.data;
            expect(d.current_job_hash).toBe(before.approval.job_hash);
            expect(d.active_policy_snapshot === before.approval.policy_snapshot || d.snapshot_equivalent === true).toBe(true);
            expect(Date.parse(command.metadata.now)).toBeLessThan(Date.parse(before.approval.expires_at));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('N approves of one job, each reloading and deciding again: one grant, one approved, the rest already_approved', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(fc.constantFrom(RITA, SAM, TOM), { minLength: 1, maxLength: 30 }), (required, reviewers) => {
        const submit = decide(cmd.submit({ approval: { required } }), initialState());
        if (!submit.ok) throw new Error(JSON.stringify(submit));
        let state = foldJob(submit.events);
        const statuses: string[] = [];
        let grants = 0;
        reviewers.forEach((r, i) => {
          const result = decide(cmd.approve({ reviewer: r, commandId: `c${i}`, approval_id: `approval-${i}` }), state);
          if (!result.ok) throw new Error(JSON.stringify(result));
          statuses.push(result.outcome.status);
          grants += result.events.filter((e) => e.type === 'ApprovalGranted').length;
          state = foldJob(result.events, state);
        });
        const reached = new Set(reviewers).size >= required;
        expect(grants).toBe(reached ? 1 : 0);
        expect(statuses.filter((s) => s === 'approved')).toHaveLength(reached ? 1 : 0);
        const firstApproved = statuses.indexOf('approved');
        if (reached) expect(statuses.slice(firstApproved + 1).every((s) => s === 'already_approved')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('expiry boundary: a vote counts iff now < expires_at; ExpireApproval succeeds iff now >= expires_at', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 * 24 * 3_600_000 }), fc.integer({ min: -5_000, max: 5_000 }), (timeout, offset) => {
        const submit = decide(cmd.submit({ approval: { timeout_ms: timeout } }), initialState());
        if (!submit.ok) throw new Error(JSON.stringify(submit));
        const state = foldJob(submit.events);
        const now = at(Math.max(0, timeout + offset));
        const before = Math.max(0, timeout + offset) < timeout;
        const approve = decide(cmd.approve({ now }), state);
        const expire = decide(cmd.expire({ now }), state);
        expect(approve.ok).toBe(before);
        if (!approve.ok) expect(approve.code).toBe('expired');
        expect(expire.ok).toBe(!before);
      }),
      { numRuns: 500 },
    );
  });

  it('folding ANY sequence of job events (any order, any repetition) never throws', () => {
    const anyEvent = fc.constantFrom<JobEvent>(
      ev.submitted(),
      ev.submitted({ job_hash: HASH_2 }),
      ev.evaluated('allow'),
      ev.evaluated('deny'),
      ev.evaluated('require_human'),
      ev.requested(),
      ev.requested({ required: 2 }),
      ev.vote(RITA, 1, 1),
      ev.vote(SAM, 1, 2),
      ev.granted([RITA]),
      ev.rejected(),
      ev.expired(),
      ev.invalidated(),
      ev.claimed(),
      ev.claimed(2, 'dispatcher-b'),
      ev.dispatched(),
      ev.dispatched(2),
      ev.replayed(2),
      ev.replayed(3, 'not_published'),
      ev.abandoned(3),
      ev.started(),
      ev.completed('succeeded'),
      ev.completed('failed'),
    );
    fc.assert(
      fc.property(fc.array(anyEvent, { maxLength: 40 }), fc.array(template, { minLength: 1, maxLength: 3 }), (events, commands) => {
        const state = foldJob(events);
        toJobView(state);
        for (const make of commands) decide(make(at(0), 'cmd-x', state), state);
      }),
      { numRuns: 500 },
    );
  });
});
