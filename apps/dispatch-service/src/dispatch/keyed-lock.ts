/**
 * Serializes work per key inside one process: the notification consumer and the replay scanner
 * of one dispatcher never work on the same job at the same time (across instances, the
 * expected-revision append of DispatchClaimed decides who publishes).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier `run` of the same key has settled. */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** True while some work of this key is queued or running. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}
