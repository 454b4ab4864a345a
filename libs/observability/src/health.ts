import { Injectable } from '@nestjs/common';

/** A readiness check: resolves when its dependency is usable, throws (with a reason) when not. */
export type ReadinessCheck = () => Promise<void>;

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly checks: Record<string, { status: 'ok' | 'unavailable'; error?: string; ms: number }>;
}

/**
 * Readiness registry: modules register a check for what they depend on (event store, broker,
 * active policy); `/health/ready` answers 200 only when all pass within the timeout, and while
 * start-up is still waiting for something (`startup`: what it waits for).
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, ReadinessCheck>();
  private shuttingDown = false;
  private startup: string | null = null;

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** After this, readiness fails so load balancers drain the instance before it stops. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /**
   * Start-up is waiting for a dependency: until {@link startupComplete}, readiness fails with
   * check `startup` saying `waiting for <what>` (e.g. `waiting for the Kafka topics: ...`).
   */
  startingUp(what: string): void {
    this.startup = what;
  }

  startupComplete(): void {
    this.startup = null;
  }

  async ready(timeoutMs = 2000): Promise<HealthReport> {
    const results: HealthReport['checks'] = {};
    if (this.shuttingDown) results.shutdown = { status: 'unavailable', error: 'shutting down', ms: 0 };
    if (this.startup !== null) results.startup = { status: 'unavailable', error: `waiting for ${this.startup}`, ms: 0 };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        const started = Date.now();
        try {
          await Promise.race([
            check(),
            new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
          ]);
          results[name] = { status: 'ok', ms: Date.now() - started };
        } catch (error) {
          results[name] = { status: 'unavailable', error: (error as Error).message, ms: Date.now() - started };
        }
      }),
    );
    const ok = Object.values(results).every((r) => r.status === 'ok');
    return { status: ok ? 'ok' : 'unavailable', checks: results };
  }
}
