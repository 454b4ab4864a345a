import { JobEvent, POLICY_STREAM, PolicyActivatedData, SignoffEvent } from '@signoff/contracts';
import { EventStore } from '@signoff/event-store';
import { PolicyBundle } from '@signoff/policy-engine';
import { redactionPathsFor } from './history-redaction';

/**
 * The request paths to redact for a job's events, for readers outside a service (the audit relay,
 * the CLI's audit export): `redactionPathsFor` with the deciding rule read from the job's
 * PolicyEvaluated and the bundle from the policy stream (cached per job and per snapshot).
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
    if (event.type !== 'JobSubmitted' && event.type !== 'JobAmendmentProposed' && event.type !== 'JobCompleted') return this.global;
    const paths = await this.jobPaths(event.streamId);
    if (event.type !== 'JobAmendmentProposed') return paths;
    // An amended request is also redacted as the rule that decided it says (edit before approve).
    const { rule_id, policy_snapshot } = event.data.evaluation;
    const bundle = rule_id !== null ? await this.bundle(policy_snapshot) : undefined;
    return [...new Set([...paths, ...redactionPathsFor(this.global, { rule_id, policy_snapshot }, () => bundle)])];
  }

  /** The paths of a job's deciding rule (cached per job). */
  private async jobPaths(streamId: string): Promise<readonly string[]> {
    const cached = this.perJob.get(streamId);
    if (cached) return cached;
    const head = await this.store.readStream<JobEvent>(streamId, { maxCount: 3 });
    const evaluated = head.find((e) => e.type === 'PolicyEvaluated');
    const decided = evaluated?.type === 'PolicyEvaluated' ? evaluated.data : null;
    const bundle = decided && decided.rule_id !== null ? await this.bundle(decided.policy_snapshot) : undefined;
    const paths = redactionPathsFor(this.global, decided, () => bundle);
    if (this.perJob.size >= this.maxCachedJobs) this.perJob.delete(this.perJob.keys().next().value as string);
    this.perJob.set(streamId, paths);
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
