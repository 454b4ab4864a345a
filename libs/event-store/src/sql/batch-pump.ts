/**
 * The sending half of the SQL adapter's batching (group commit of appends, coalesced reads):
 * what is queued in one turn of the event loop leaves together in the next, and while every
 * batch slot is busy the queue grows, so the next batch takes everything that arrived meanwhile.
 */
export class BatchPump<B> {
  private inFlight = 0;
  private scheduled = false;

  /** `take`: the next batch off the queue (null: empty); `run`: sends it and settles its callers. */
  constructor(
    private readonly maxBatches: number,
    private readonly take: () => B | null,
    private readonly run: (batch: B) => Promise<void>,
  ) {}

  /** Something was queued: send it soon, unless every slot is busy (a finished batch sends it then). */
  kick(): void {
    if (this.scheduled || this.inFlight >= this.maxBatches) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxBatches) {
      const batch = this.take();
      if (batch === null) return;
      this.inFlight += 1;
      void this.run(batch).finally(() => {
        this.inFlight -= 1;
        this.flush();
      });
    }
  }
}
