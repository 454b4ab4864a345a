import { JobEvent, POLICY_STREAM, PolicyActivatedData, PolicyEvaluatedData, SignoffEvent } from '@signoff/contracts';
import { EventStore, RecordedEventInfo } from '@signoff/event-store';
import { PolicyBundle } from '@signoff/policy-engine';
import { redactionPathsFor } from './history-redaction';

/** How many of a job stream's first events are searched for its deciding PolicyEvaluated. */
const HEAD_EVENTS = 3;

/** The deciding evaluation in a job stream's first events (null: none there). */
function decidingEvaluation(head: readonly { readonly type: string; readonly data: unknown }[]): PolicyEvaluatedData | null {
  const evaluated = head.find((e) => e.type === 'PolicyEvaluated');
  return evaluated ? (evaluated.data as PolicyEvaluatedData) : null;
}

/**
 * What a batch of the log says about the heads of the job streams it starts: by stream, the
 * deciding evaluation (or null) wherever the batch holds that stream's events from revision 0 up
 * to its first PolicyEvaluated, or all of its first {@link HEAD_EVENTS}: exactly what reading the
 * stream's head would answer, since a stream's events never change. Streams whose head the batch
 * does not hold in full are not in the map (they are read).
 */
export function headsInBatch(events: readonly (RecordedEventInfo & { readonly type: string; readonly data: unknown })[]): Map<string, PolicyEvaluatedData | null> {
  const starts = new Map<string, { type: string; data: unknown }[]>();
  for (const event of events) {
    if (event.revision >= BigInt(HEAD_EVENTS)) continue;
    let head = starts.get(event.streamId);
    if (event.revision === 0n) starts.set(event.streamId, (head = []));
    // Only a gap-free run from revision 0 counts.
    if (head !== undefined && BigInt(head.length) === event.revision) head.push(event);
  }
  const heads = new Map<string, PolicyEvaluatedData | null>();
  for (const [streamId, head] of starts) {
    const decided = decidingEvaluation(head);
    if (decided !== null || head.length === HEAD_EVENTS) heads.set(streamId, decided);
  }
  return heads;
}

/**
 * The request paths to redact for a job's events, for readers outside a service (the audit relay,
 * the CLI's audit export): `redactionPathsFor` with the deciding rule read from the job's
 * PolicyEvaluated and the bundle from the policy stream (cached per job and per snapshot).
 */
export class RuleRedactions {
  private readonly bundles = new Map<string, PolicyBundle>();
  private readonly perJob = new Map<string, readonly string[]>();
  private policyRevision = -1n;
  /** The heads of the job streams the batch being mapped starts (see {@link prepareBatch}). */
  private batchHeads = new Map<string, PolicyEvaluatedData | null>();

  constructor(
    private readonly store: EventStore,
    private readonly global: readonly string[],
    private readonly maxCachedJobs = 10_000,
  ) {}

  /**
   * Notes the job heads a batch of the log holds (a relay calls it before mapping the batch):
   * the job streams that the batch starts are then answered without reading their head, which was
   * one round trip per submitted job.
   */
  prepareBatch(events: Parameters<typeof headsInBatch>[0]): void {
    this.batchHeads = headsInBatch(events);
  }

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
    const decided = this.batchHeads.has(streamId)
      ? this.batchHeads.get(streamId)!
      : decidingEvaluation(await this.store.readStream<JobEvent>(streamId, { maxCount: HEAD_EVENTS }));
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
