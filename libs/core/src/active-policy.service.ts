import fs from 'node:fs';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { POLICY_STREAM, PolicyActivatedData, SignoffError } from '@signoff/contracts';
import { deterministicUuid, EventStore, EventStoreError, WrongExpectedVersionError } from '@signoff/event-store';
import { HealthRegistry } from '@signoff/observability';
import { CompiledPolicy, compilePolicy, formatPolicyError, parsePolicy, parseStoredPolicy, PolicyBundle, policySnapshot } from '@signoff/policy-engine';
import { storeErrorToSignoffError } from './store-errors';

/** The policy in force: compiled once, with its snapshot hash. */
export interface ActivePolicyView {
  readonly bundle: PolicyBundle;
  readonly compiled: CompiledPolicy;
  readonly snapshot: string;
  /**
   * `v<activation>`, as PolicyActivated records it (and PolicyEvaluated's `policy_version`): the
   * activation counter, not the bundle's own `version` (that is `bundle.version`).
   */
  readonly version: string;
  /** The activation number: 1 for the first policy ever activated, then one more per activation (the revision of its PolicyActivated + 1). */
  readonly activation: number;
  readonly activatedAt: string;
  readonly activatedBy: string;
}

export interface ActivePolicyOptions {
  /** The bundle activated when the policy stream is still empty (POLICY_PATH). */
  readonly bootstrapPath: string;
  /** How often the policy stream is polled for activations by other instances (ms). */
  readonly pollIntervalMs?: number;
}

export const ACTIVE_POLICY_OPTIONS = Symbol('ACTIVE_POLICY_OPTIONS');

/**
 * The active policy of every instance, from the event log: the last PolicyActivated of the
 * `policy` stream. At start an empty stream is seeded from POLICY_PATH (one instance wins the
 * `no_stream` append, the others read its result). Activations by any instance are seen within
 * the poll interval (250 ms). The log, not the file, is the source of truth after the first start:
 * a changed file is reported at start and activated with `PUT /api/v1/policy`.
 */
@Injectable()
export class ActivePolicy implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ActivePolicy');
  private current: ActivePolicyView | null = null;
  private revision: bigint | 'no_stream' = 'no_stream';
  private readonly history = new Map<string, ActivePolicyView>();
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<(policy: ActivePolicyView) => void>();

  constructor(
    private readonly store: EventStore,
    private readonly options: ActivePolicyOptions,
    private readonly health?: HealthRegistry,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.refresh();
    if (this.revision === 'no_stream') await this.seedFromFile();
    else this.reportFileDrift();
    this.health?.register('policy', async () => {
      if (!this.current) throw new Error('no active policy');
    });
    const interval = this.options.pollIntervalMs ?? 250;
    const tick = () => {
      this.refresh()
        .catch((error: unknown) => this.logger.warn(`policy refresh failed: ${(error as Error).message}`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, interval);
        });
    };
    this.timer = setTimeout(tick, interval);
  }

  onApplicationShutdown(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The policy in force; 503 `policy_unavailable` before the first one is known. */
  get(): ActivePolicyView {
    if (!this.current) throw new SignoffError('policy_unavailable', 'no policy is active yet', {}, { 'Retry-After': '1' });
    return this.current;
  }

  /** A policy that was active at some point, by snapshot (null when never seen by this instance). */
  bySnapshot(snapshot: string): ActivePolicyView | null {
    return this.history.get(snapshot) ?? null;
  }

  /** Called with each newly active policy (drift detection). */
  onActivated(listener: (policy: ActivePolicyView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Validates and activates a bundle (YAML or JSON text). 400 `invalid_policy` with every error's
   * line and column; activating the bundle that is already active changes nothing.
   */
  async activate(text: string, actor: string, format: 'yaml' | 'json' = 'yaml'): Promise<ActivePolicyView> {
    const parsed = parsePolicy(text, { format });
    if (!parsed.ok) {
      throw new SignoffError('invalid_policy', `the policy has ${parsed.errors.length} error(s)`, {
        errors: parsed.errors.map((e) => ({ path: e.path, line: e.line, column: e.column, code: e.code, message: e.message })),
      });
    }
    const snapshot = policySnapshot(parsed.bundle);
    for (let attempt = 0; attempt < 10; attempt++) {
      await this.refresh();
      if (this.current?.snapshot === snapshot) return this.current;
      const data: PolicyActivatedData = { snapshot, version: this.nextVersion(), activatedBy: actor, bundle: parsed.bundle };
      try {
        await this.store.appendToStream(
          POLICY_STREAM,
          [
            {
              id: deterministicUuid(`policy/${this.revision.toString()}/${snapshot}`),
              type: 'PolicyActivated',
              data,
              metadata: { correlationId: snapshot, causationId: snapshot, actor, at: new Date().toISOString() },
            },
          ],
          { expectedRevision: this.revision },
        );
        await this.refresh();
        return this.get();
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) continue;
        if (error instanceof EventStoreError) throw storeErrorToSignoffError(error, 'activating a policy');
        throw error;
      }
    }
    throw new SignoffError('busy', 'policy activations are racing; retry shortly', {}, { 'Retry-After': '1' });
  }

  private nextVersion(): string {
    return `v${this.revision === 'no_stream' ? 1 : Number(this.revision) + 2}`;
  }

  /** Reads activations after the known revision and switches to the newest. */
  async refresh(): Promise<void> {
    const events = await this.store.readStream<{ type: string; data: PolicyActivatedData }>(POLICY_STREAM, {
      fromRevision: this.revision === 'no_stream' ? 0n : this.revision + 1n,
    });
    for (const event of events) {
      this.revision = event.revision;
      if (event.type !== 'PolicyActivated') continue;
      // Bounded and fast (no re-serialization, no text parse): a bundle stored before the size
      // bounds existed (aliases expanded to megabytes) is refused in milliseconds, like any
      // invalid one, instead of holding the event loop at every start.
      const parsed = parseStoredPolicy(event.data.bundle);
      if (!parsed.ok) {
        this.logger.error(
          `PolicyActivated at revision ${event.revision} holds an invalid bundle (${parsed.errors[0]?.message ?? 'unreadable'}); keeping the previous policy`,
        );
        continue;
      }
      const view: ActivePolicyView = {
        bundle: parsed.bundle,
        compiled: compilePolicy(parsed.bundle),
        snapshot: event.data.snapshot,
        version: event.data.version,
        activation: activationNumber(event.data.version, event.revision),
        activatedAt: event.createdAt.toISOString(),
        activatedBy: event.data.activatedBy,
      };
      this.history.set(view.snapshot, view);
      const changed = this.current?.snapshot !== view.snapshot;
      this.current = view;
      if (changed) {
        this.logger.log(`policy ${view.version} active (${view.snapshot})`);
        for (const listener of this.listeners) listener(view);
      }
    }
  }

  private async seedFromFile(): Promise<void> {
    const text = readBootstrap(this.options.bootstrapPath);
    await this.activate(text, 'system:bootstrap');
  }

  private reportFileDrift(): void {
    try {
      const parsed = parsePolicy(readBootstrap(this.options.bootstrapPath));
      if (parsed.ok && this.current && policySnapshot(parsed.bundle) !== this.current.snapshot) {
        this.logger.warn(
          `${this.options.bootstrapPath} differs from the active policy ${this.current.version}; the event log wins. ` +
            'Activate the file with PUT /api/v1/policy (or `npm run cli -- policy activate`).',
        );
      }
    } catch {
      /* the file is only a bootstrap; its absence after the first start is fine */
    }
  }
}

/** The activation number of a PolicyActivated: its recorded `v<n>`, else its revision in the policy stream + 1. */
export function activationNumber(version: string, revision: bigint): number {
  const recorded = /^v(\d+)$/.exec(version);
  return recorded ? Number(recorded[1]) : Number(revision) + 1;
}

function readBootstrap(path: string): string {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`POLICY_PATH ${path} cannot be read: ${(error as Error).message}`);
  }
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(`POLICY_PATH ${path} is invalid:\n${parsed.errors.map((e) => formatPolicyError(e, path)).join('\n')}`);
  return text;
}
