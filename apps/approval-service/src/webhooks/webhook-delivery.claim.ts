import type { Clock } from '@signoff/core';
import { deterministicUuid, EventStore, WrongExpectedVersionError } from '@signoff/event-store';

export const WEBHOOK_DELIVERY_CLAIMED = 'WebhookDeliveryClaimed';
export const WEBHOOK_DELIVERY_SETTLED = 'WebhookDeliverySettled';
export const WEBHOOK_DELIVERY_RELEASED = 'WebhookDeliveryReleased';

/** The claim stream of one message to one endpoint. */
export function webhookClaimStreamId(endpointId: string, eventId: string): string {
  return `webhook-claim:${endpointId}:${eventId}`;
}

interface ClaimData {
  readonly holder: string;
  /** ISO time after which another instance may take the message over (the holder died). */
  readonly until: string;
}

/** A claim kept alive by renewals ({@link WebhookDeliveryClaims.hold}). */
export interface ClaimHold {
  /** Aborts when another instance took the message over. */
  readonly lost: AbortSignal;
  /** Ends the renewals; settles once a renewal already in flight has landed (or failed). */
  stop(): Promise<void>;
}

/** What {@link WebhookDeliveryClaims.claim} found. */
export type ClaimOutcome = 'mine' | 'settled' | 'stopped';

/**
 * Which instance sends a message when several run the same endpoint's subscription (each reads
 * the same events under the same checkpoint). The first to append `WebhookDeliveryClaimed` to
 * the message's claim stream (expected revision: none) sends it and appends
 * `WebhookDeliverySettled` once delivered or dead-lettered; the others wait for that and skip
 * the message, so it is sent once per checkpoint position in the normal case. A claim is a
 * lease: while the holder works on the message (attempts and back-off waits, which may last
 * minutes) it renews the claim every third of the lease ({@link WebhookDeliveryClaims.hold});
 * a holder that died stops renewing and its claim is taken over once `until` passed
 * (compare-and-set on the stream revision), within one lease of the death, so no message is lost
 * and at least once still holds. A holder that stalled past its lease finds its renewal refused
 * (another instance took over) and stops sending. A stopping holder releases its claim
 * (`WebhookDeliveryReleased`) so the next instance need not wait for `until`.
 */
export class WebhookDeliveryClaims {
  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly endpointId: string,
    /** This instance (random per process: it only tells live holders apart). */
    private readonly holder: string,
    /** How long a claim holds without renewal (WEBHOOK_CLAIM_LEASE_MS): the takeover delay after a holder's death. */
    private readonly leaseMs: number,
    private readonly pollMs = 100,
  ) {}

  /** Resolves `mine` when this instance must send the message, `settled` when another did, `stopped` when `signal` ended the wait. */
  async claim(eventId: string, signal: AbortSignal): Promise<ClaimOutcome> {
    const stream = webhookClaimStreamId(this.endpointId, eventId);
    let expected: 'no_stream' | bigint = 'no_stream';
    for (;;) {
      try {
        await this.store.appendToStream(stream, [this.claimEvent(eventId, expected)], { expectedRevision: expected });
        return 'mine';
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
      }
      for (;;) {
        const events = await this.store.readStream<{ type: string; data: ClaimData }>(stream);
        const last = events[events.length - 1];
        if (!last) break;
        if (last.type === WEBHOOK_DELIVERY_SETTLED) return 'settled';
        // Given up by a stopping holder: take it over at once.
        if (last.type === WEBHOOK_DELIVERY_RELEASED) {
          expected = last.revision;
          break;
        }
        // Our own claim (a retry of this process after a store error): carry on sending.
        if (last.data.holder === this.holder) return 'mine';
        if (Date.parse(last.data.until) <= this.clock.now().getTime()) {
          expected = last.revision;
          break;
        }
        await abortableSleep(this.pollMs, signal);
        if (signal.aborted) return 'stopped';
      }
    }
  }

  /**
   * Keeps this instance's claim alive while it works on the message: renews it every third of
   * the lease; `lost` aborts when a renewal finds that another instance took the message over
   * (this one stalled past its lease), and `stop()` ends the renewals.
   */
  hold(eventId: string): ClaimHold {
    const lost = new AbortController();
    let renewing: Promise<void> | null = null;
    const timer = setInterval(() => {
      renewing ??= this.renew(eventId)
        .then((held) => {
          if (!held) lost.abort();
        })
        // A store error: try again at the next tick; the lease leaves two more chances.
        .catch(() => undefined)
        .finally(() => {
          renewing = null;
        });
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    timer.unref();
    return {
      lost: lost.signal,
      stop: async () => {
        clearInterval(timer);
        await renewing;
      },
    };
  }

  /** Extends this instance's claim by a lease; false when the claim is no longer its own. */
  async renew(eventId: string): Promise<boolean> {
    const stream = webhookClaimStreamId(this.endpointId, eventId);
    const events = await this.store.readStream<{ type: string; data: ClaimData }>(stream);
    const last = events[events.length - 1];
    if (!last || last.type !== WEBHOOK_DELIVERY_CLAIMED || last.data.holder !== this.holder) return false;
    try {
      await this.store.appendToStream(stream, [this.claimEvent(eventId, last.revision)], { expectedRevision: last.revision });
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }

  /** Marks the message done (delivered or dead-lettered): waiting instances skip it. */
  async settle(eventId: string): Promise<void> {
    const id = deterministicUuid(`webhook-settled:${this.endpointId}:${eventId}`);
    await this.store.appendToStream(webhookClaimStreamId(this.endpointId, eventId), [{ id, type: WEBHOOK_DELIVERY_SETTLED, data: { holder: this.holder } }], {
      expectedRevision: 'any',
    });
  }

  /** Gives the message up unsent (this instance stops): another instance, or the next start, takes it over at once. */
  async release(eventId: string): Promise<void> {
    const stream = webhookClaimStreamId(this.endpointId, eventId);
    const events = await this.store.readStream<{ type: string; data: ClaimData }>(stream);
    const last = events[events.length - 1];
    if (!last || last.type !== WEBHOOK_DELIVERY_CLAIMED || last.data.holder !== this.holder) return;
    const id = deterministicUuid(`webhook-released:${this.endpointId}:${eventId}:${this.holder}:${last.revision}`);
    await this.store.appendToStream(stream, [{ id, type: WEBHOOK_DELIVERY_RELEASED, data: { holder: this.holder } }], { expectedRevision: last.revision });
  }

  private claimEvent(eventId: string, expected: 'no_stream' | bigint) {
    const data: ClaimData = { holder: this.holder, until: new Date(this.clock.now().getTime() + this.leaseMs).toISOString() };
    return { id: deterministicUuid(`webhook-claim:${this.endpointId}:${eventId}:${this.holder}:${String(expected)}`), type: WEBHOOK_DELIVERY_CLAIMED, data };
  }
}

/** Waits `ms`, or less when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
