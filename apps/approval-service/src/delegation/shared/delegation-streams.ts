import { Injectable } from '@nestjs/common';
import {
  decideDelegation,
  eventIdFor,
  foldDelegations,
  resolveDelegationChain,
  toSignoffError,
  type DelegationCommand,
  type DelegationOutcomeMap,
  type DelegationState,
  type ResolvedDelegationChain,
} from '@signoff/approvals';
import { normalizeIdentity, sameIdentity, SignoffError, toDelegationStreamId, type DelegationEvent } from '@signoff/contracts';
import { storeErrorToSignoffError } from '@signoff/core';
import { DuplicateEventIdError, EventStore, EventStoreError, WrongExpectedVersionError } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';

/** Bounded retries on expected-version conflicts of a delegator's stream; then 503 `busy`. */
const MAX_ATTEMPTS = 8;

/** A delegator's folded stream and the revision it was read at. */
export interface LoadedDelegations {
  readonly state: DelegationState;
  readonly revision: bigint | 'no_stream';
}

/** What resolving `on_behalf_of` gave: the chain, or the refusal to raise once the job checks passed. */
export type DelegatedVote = { readonly ok: true; readonly chain: ResolvedDelegationChain } | { readonly ok: false; readonly error: SignoffError };

/**
 * The shell around the delegation decider, one stream per delegator (`toDelegationStreamId`): read,
 * fold, decide, append with the expected revision; a conflict reloads and decides again (bounded).
 * Also resolves a vote's `on_behalf_of` from the streams themselves (not from a read model), so a
 * revocation is honoured by every instance as soon as it is stored.
 */
@Injectable()
export class DelegationStreams {
  constructor(
    private readonly store: EventStore,
    private readonly metrics: SignoffMetrics,
  ) {}

  async load(delegator: string): Promise<LoadedDelegations> {
    const events = await this.guard('reading delegations', () => this.store.readStream<DelegationEvent>(toDelegationStreamId(delegator)));
    return { state: foldDelegations(events), revision: events.length === 0 ? 'no_stream' : events[events.length - 1]!.revision };
  }

  /** Runs a delegation command on `delegator`'s stream; refusals are thrown as their SignoffError. */
  async execute<C extends DelegationCommand>(delegator: string, build: (state: DelegationState) => C): Promise<DelegationOutcomeMap[C['type']]> {
    const stream = toDelegationStreamId(delegator);
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.load(delegator);
      const command = build(loaded.state);
      const result = decideDelegation(command, loaded.state);
      if (!result.ok) throw toSignoffError(result);
      if (result.events.length === 0) return result.outcome;
      try {
        const events = result.events.map((event, i) => ({ ...event, id: eventIdFor(command.metadata.commandId, i) }));
        await this.guard('appending a delegation', () => this.store.appendToStream(stream, events, { expectedRevision: loaded.revision }));
        return result.outcome;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) && !(error instanceof DuplicateEventIdError)) throw error;
        this.metrics.approvalConflicts.inc();
        if (attempt >= MAX_ATTEMPTS) throw new SignoffError('busy', 'too much contention on these delegations; retry shortly', {}, { 'Retry-After': '1' });
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** attempt)));
      }
    }
  }

  /**
   * The chain of delegations active at `now` from `voter` to `caster` (`resolveDelegationChain`),
   * reading one delegator stream per step (at most MAX_DELEGATION_CHAIN reads). A refusal is
   * returned, not thrown: the approve/reject builders raise it after the job's own checks (404,
   * topic 403), so a vote on a job the caller may not see learns nothing about delegations.
   */
  async resolve(voter: string, caster: string, now: Date): Promise<DelegatedVote> {
    const states = new Map<string, DelegationState>();
    for (;;) {
      const step = resolveDelegationChain({ voter, caster, nowMs: now.getTime() }, states);
      if ('need' in step) {
        states.set(normalizeIdentity(step.need), (await this.load(step.need)).state);
        continue;
      }
      return step.ok ? step : { ok: false, error: toSignoffError(step) };
    }
  }

  private async guard<T>(doing: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      if (error instanceof WrongExpectedVersionError || error instanceof DuplicateEventIdError) throw error;
      if (error instanceof EventStoreError) throw storeErrorToSignoffError(error, doing);
      throw error;
    }
  }
}

/**
 * The `on_behalf_of` of an approve or reject resolved at `now`, or undefined for a vote in one's
 * own name; naming oneself is 400 `invalid_request`.
 */
export async function resolveOnBehalf(streams: DelegationStreams, caller: string, onBehalfOf: string | undefined, now: Date): Promise<DelegatedVote | undefined> {
  if (onBehalfOf === undefined) return undefined;
  if (sameIdentity(onBehalfOf, caller)) {
    throw new SignoffError('invalid_request', 'on_behalf_of names yourself: vote without it', { errors: [{ field: 'on_behalf_of', message: 'on_behalf_of must name someone else' }] });
  }
  return streams.resolve(onBehalfOf, caller, now);
}
