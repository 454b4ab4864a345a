/**
 * The loop the log-driven timers share (expiry, escalation steps): every `intervalMs`, act on
 * what is due now, a few at a time; one sweep at a time (a sweep asked for during another joins
 * it); `stop()` ends the loop and waits for the sweep under way. Nothing about the timers lives
 * here: what is due comes from a projection rebuilt from the log, so a restart loses nothing.
 */
export class PeriodicSweep<T> {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    /** What is due now. */
    private readonly due: () => readonly T[],
    /** Acts on one due item; true when it recorded something (counted in the sweep's result). */
    private readonly act: (item: T) => Promise<boolean>,
    private readonly concurrency = 8,
  ) {}

  start(): void {
    const tick = () => {
      void this.sweep().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** Acts on everything due now; resolves with how many items recorded something. */
  sweep(): Promise<number> {
    this.sweeping ??= this.run().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async run(): Promise<number> {
    const due = this.due();
    let recorded = 0;
    for (let i = 0; i < due.length && !this.stopped; i += this.concurrency) {
      const results = await Promise.all(due.slice(i, i + this.concurrency).map((item) => this.act(item)));
      recorded += results.filter(Boolean).length;
    }
    return recorded;
  }
}
