import { JobEvent, POLICY_STREAM, PolicyActivatedData, SignoffEvent } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { PolicyBundle } from '@signoff/policy-engine';

/**
 * The request paths to redact for a job's events: the global list (AUDIT_REDACT_FIELDS) plus the
 * `redact` list of the rule that decided the job, under the policy snapshot it was decided by
 * (read from the job's PolicyEvaluated and the policy stream; cached per job and per snapshot).
 */
export class RuleRedactions {
  private readonly bundles = new Map<string, PolicyBundle>();
  private readonly perJob = new Map<string, readonly string[]>();
  private policyRevision = -1n;

  constructor(
    private readonly store: EventStore,
    private readonly global: readonly string[],
    private readonly maxCachedJobs = 10_000,
  ) {}

  /** The paths for one stored event (global only for events that are not about a job request). */
  async pathsFor(event: SignoffEvent & { streamId: string }): Promise<readonly string[]> {
    if (event.type !== 'JobSubmitted' && event.type !== 'JobCompleted') return this.global;
    const cached = this.perJob.get(event.streamId);
    if (cached) return cached;
    const head = await this.store.readStream<JobEvent>(event.streamId, { maxCount: 3 });
    const evaluated = head.find((e) => e.type === 'PolicyEvaluated');
    let paths = this.global;
    if (evaluated?.type === 'PolicyEvaluated' && evaluated.data.rule_id !== null) {
      const bundle = await this.bundle(evaluated.data.policy_snapshot);
      const rule = bundle?.rules.find((r) => r.id === evaluated.data.rule_id);
      if (rule?.redact?.length) paths = [...new Set([...this.global, ...rule.redact])];
    }
    if (this.perJob.size >= this.maxCachedJobs) this.perJob.delete(this.perJob.keys().next().value as string);
    this.perJob.set(event.streamId, paths);
    return paths;
  }

  private async bundle(snapshot: string): Promise<PolicyBundle | undefined> {
    if (!this.bundles.has(snapshot)) {
      const activations = await this.store.readStream<{ type: string; data: PolicyActivatedData }>(POLICY_STREAM, { fromRevision: this.policyRevision + 1n });
      for (const a of activations) {
        this.policyRevision = a.revision;
        if (a.type === 'PolicyActivated') this.bundles.set(a.data.snapshot, a.data.bundle as PolicyBundle);
      }
    }
    return this.bundles.get(snapshot);
  }
}
