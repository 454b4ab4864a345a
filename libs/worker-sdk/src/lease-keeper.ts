import { performance } from 'node:perf_hooks';
import type { ClaimStore, Lease } from './claim-store.port';

/** Why a lease keeper's signal fired. */
export type LeaseLoss = 'taken_over' | 'expired';

/** The margin kept before the lease's expiry: a tenth of the lease, 10 ms to 1 s. */
export function leaseMargin(leaseMs: number): number {
  return Math.min(1000, Math.max(10, Math.floor(leaseMs / 10)));
}

/**
 * Keeps a held lease alive while its handler runs and says the moment it is lost. Renews every
 * third of the lease; its signal fires when
 * - a renewal finds the lease taken over (another worker holds the key now), or
 * - the local deadline passes: the lease's expiry as this process can prove it, counted from
 *   when the last SUCCESSFUL renewal (or the claim) was sent, minus a margin. The database sets
 *   the expiry at `now() + leaseMs` when it executes the statement, which is after it was sent,
 *   so the local deadline is never later than the real expiry; when renewals cannot reach the
 *   database, the signal fires before another worker can take the key over.
 * Renewals go on after the signal fired (until `stop`), so a database that comes back in time
 * finds the lease still held and the outcome can still be stored under it.
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private readonly interval: NodeJS.Timeout;
  private deadline: NodeJS.Timeout | null = null;
  private renewing = false;
  private stopped = false;
  private lastHeldAt: number;

  /** `claimSentAt`: `performance.now()` taken right before the claim statement was sent. */
  constructor(
    private readonly store: ClaimStore,
    private readonly lease: Lease,
    private readonly leaseMs: number,
    claimSentAt: number,
    private readonly onRenewalError: (error: Error) => void,
  ) {
    this.lastHeldAt = claimSentAt;
    this.arm(claimSentAt);
    this.interval = setInterval(() => this.renew(), Math.max(10, Math.floor(leaseMs / 3)));
  }

  /** Fires when the lease is lost (see the class comment); its `reason` is an Error naming why. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the signal fired, or null while the lease holds. */
  get loss(): LeaseLoss | null {
    if (!this.controller.signal.aborted) return null;
    return (this.controller.signal.reason as { loss?: LeaseLoss }).loss ?? 'expired';
  }

  /** Stops renewing (the outcome is stored, or the run is over). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.interval);
    if (this.deadline) clearTimeout(this.deadline);
  }

  private renew(): void {
    // A renewal that hangs (the database unreachable) is not stacked with more.
    if (this.renewing || this.stopped) return;
    this.renewing = true;
    const sentAt = performance.now();
    this.store.renew(this.lease, this.leaseMs).then(
      (held) => {
        this.renewing = false;
        if (this.stopped) return;
        if (!held) {
          this.lose('taken_over', `the lease on ${this.lease.key} was taken over by another worker`);
          this.stop();
          return;
        }
        this.lastHeldAt = sentAt;
        if (!this.controller.signal.aborted) this.arm(sentAt);
      },
      (error: unknown) => {
        this.renewing = false;
        if (!this.stopped) this.onRenewalError(error as Error);
      },
    );
  }

  private arm(heldSince: number): void {
    if (this.deadline) clearTimeout(this.deadline);
    const at = heldSince + this.leaseMs - leaseMargin(this.leaseMs);
    this.deadline = setTimeout(
      () => {
        const silentMs = Math.round(performance.now() - this.lastHeldAt);
        this.lose('expired', `the lease on ${this.lease.key} may have expired: no renewal reached the database for ${silentMs} ms (lease ${this.leaseMs} ms)`);
      },
      Math.max(0, at - performance.now()),
    );
  }

  private lose(loss: LeaseLoss, message: string): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(Object.assign(new Error(message), { name: 'LeaseLostError', loss }));
  }
}
