import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClaimStore, Lease } from './claim-store.port';
import { LeaseKeeper, leaseMargin } from './lease-keeper';

const LEASE: Lease = { key: 'k', token: 't', owner: 'w', fencingToken: 1 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A claim store whose renew() answers what the test says: held, taken over, or unreachable. */
function storeAnswering(answer: () => Promise<boolean>): ClaimStore & { renewals: number } {
  const fake = { renewals: 0, renew: async () => (fake.renewals++, answer()) };
  return fake as unknown as ClaimStore & { renewals: number };
}

describe('LeaseKeeper: the signal fires the moment the lease is lost', () => {
  const keepers: LeaseKeeper[] = [];
  afterEach(() => keepers.splice(0).forEach((k) => k.stop()));
  const keep = (store: ClaimStore, leaseMs: number, claimSentAt = performance.now()) => {
    const keeper = new LeaseKeeper(store, LEASE, leaseMs, claimSentAt, () => undefined);
    keepers.push(keeper);
    return keeper;
  };

  it('renewals that succeed keep it from firing, lease after lease', async () => {
    const store = storeAnswering(async () => true);
    const keeper = keep(store, 150);
    await sleep(600);
    expect(keeper.signal.aborted).toBe(false);
    expect(store.renewals).toBeGreaterThanOrEqual(6);
  });

  it('a renewal that finds the lease taken over fires it at once (taken_over)', async () => {
    const keeper = keep(storeAnswering(async () => false), 300);
    await sleep(150);
    expect(keeper.signal.aborted).toBe(true);
    expect(keeper.loss).toBe('taken_over');
    expect((keeper.signal.reason as Error).message).toMatch(/taken over/);
  });

  it('renewals that cannot reach the database: it fires at the local deadline, before the lease can expire in the database', async () => {
    // A tenth of the lease is the margin: 100 ms of slack for a loaded machine's late timers.
    const leaseMs = 1000;
    const claimSentAt = performance.now();
    const keeper = keep(storeAnswering(async () => Promise.reject(new Error('connect ECONNREFUSED'))), leaseMs, claimSentAt);
    const firedAt = await new Promise<number>((resolve) => keeper.signal.addEventListener('abort', () => resolve(performance.now())));
    const after = firedAt - claimSentAt;
    // The database's expiry is at least leaseMs after the claim was sent; the signal comes a margin before that.
    expect(after).toBeLessThan(leaseMs);
    expect(after).toBeGreaterThanOrEqual(leaseMs - leaseMargin(leaseMs) - 20);
    expect(keeper.loss).toBe('expired');
    expect((keeper.signal.reason as Error).message).toMatch(/no renewal reached the database/);
  });

  it('a renewal that hangs is not stacked, and the deadline counts from the last renewal that succeeded', async () => {
    let hang = false;
    const store = storeAnswering(() => (hang ? new Promise<boolean>(() => undefined) : Promise.resolve(true)));
    const keeper = keep(store, 1000);
    await sleep(1100);
    expect(keeper.signal.aborted).toBe(false);
    hang = true;
    const hungAt = performance.now();
    const firedAt = await new Promise<number>((resolve) => keeper.signal.addEventListener('abort', () => resolve(performance.now())));
    expect(firedAt - hungAt).toBeLessThan(1000);
    const renewals = store.renewals;
    await sleep(700);
    expect(store.renewals).toBe(renewals);
  });

  it('stop() ends renewals and the deadline', async () => {
    const store = storeAnswering(async () => true);
    const keeper = keep(store, 90);
    keeper.stop();
    await sleep(200);
    expect(store.renewals).toBe(0);
    expect(keeper.signal.aborted).toBe(false);
  });
});
