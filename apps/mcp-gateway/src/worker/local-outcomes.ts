/** What this instance's worker got from an upstream for a job (the client may be waiting on this instance). */
/** `args_hash` of the arguments the tool was called with (an approved amendment differs from the call's). */
export type LocalOutcome = { readonly ok: true; readonly result: unknown; readonly args_hash: string } | { readonly ok: false; readonly error: string };

/**
 * Hands a job's outcome from this instance's worker to a call waiting on this instance, so a call
 * whose dispatch landed here answers without polling. Only a shortcut: a call waits on the job's
 * state in Signoff as well, which is where the outcome of a run on another instance shows.
 */
export class LocalOutcomes {
  private readonly waiters = new Map<string, Set<(o: LocalOutcome) => void>>();

  private static key(tenant: string, jobId: string): string {
    return `${tenant}|${jobId}`;
  }

  /** Resolves with the outcome when this instance runs the job; `stop()` removes the waiter. */
  wait(tenant: string, jobId: string): { outcome: Promise<LocalOutcome>; stop: () => void } {
    const key = LocalOutcomes.key(tenant, jobId);
    let resolve!: (o: LocalOutcome) => void;
    const outcome = new Promise<LocalOutcome>((r) => (resolve = r));
    const set = this.waiters.get(key) ?? new Set();
    set.add(resolve);
    this.waiters.set(key, set);
    return {
      outcome,
      stop: () => {
        set.delete(resolve);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      },
    };
  }

  publish(tenant: string, jobId: string, outcome: LocalOutcome): void {
    const set = this.waiters.get(LocalOutcomes.key(tenant, jobId));
    if (set) for (const resolve of [...set]) resolve(outcome);
  }
}
