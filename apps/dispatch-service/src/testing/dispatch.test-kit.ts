/*
 * Test kit of the dispatch path (int and e2e tiers): jobs written to the event store through the
 * real decider (what the policy and approval services do), and a recorder of a Kafka topic.
 * Not imported by production code.
 */
import { randomUUID } from 'node:crypto';
import { ApproveJob, RejectJob, SubmitJob } from '@signoff/approvals';
import { DEFAULT_TENANT, JobEvent, JobRef, JobRequest, POLICY_STREAM, PolicyActivatedData, SignoffEventMap, toJobStreamId } from '@signoff/contracts';
import { commandMetadata, JobCommandHandler } from '@signoff/core';
import { FixedClock } from '@signoff/core/testing';
import { EventStore } from '@signoff/event-store';
import { InboundMessage, MessageBus, patchKafkaJsNegativeTimeout, Subscription } from '@signoff/messaging';
import { SignoffMetrics } from '@signoff/observability';
import { jobHash, normalizeJobRequest, parsePolicy, PolicyBundle, policySnapshot } from '@signoff/policy-engine';
import { Kafka, logLevel } from 'kafkajs';

// kafkajs's negative timer (TimeoutNegativeWarning on Node 24): see @signoff/messaging.
patchKafkaJsNegativeTimeout();

/** The policy the test jobs are recorded under (each test still picks its job's outcome). */
export const TEST_POLICY_YAML = `
version: v1
default: deny
rules:
  - id: rule-allow
    when: {topic: knowledge.read}
    decision: allow
  - id: rule-require_human
    when: {topic: finance.payment.execute}
    decision: require_human
    approval: {required: 1}
`;

function bundleOf(yaml: string): PolicyBundle {
  const parsed = parsePolicy(yaml);
  if (!parsed.ok) throw new Error(`the test policy is invalid: ${JSON.stringify(parsed.errors)}`);
  return parsed.bundle;
}

/** The snapshot of {@link TEST_POLICY_YAML}, bound to every test job and approval. */
export const TEST_SNAPSHOT = policySnapshot(bundleOf(TEST_POLICY_YAML));

/**
 * Activates a policy in the log, as `PUT /policy` does (PolicyActivated on the `policy` stream);
 * by default the test policy, so approvals of test jobs are granted under the policy the log says
 * is active: the dispatcher voids a grant whose snapshot is not the one active at its position
 * (DESIGN section 12). Call it before approving. Returns the activated snapshot.
 */
export async function activateTestPolicy(store: EventStore, yaml: string = TEST_POLICY_YAML): Promise<string> {
  const bundle = bundleOf(yaml);
  const snapshot = policySnapshot(bundle);
  const data: PolicyActivatedData = { snapshot, version: 'v-test', activatedBy: 'test-kit', bundle };
  const metadata = { correlationId: 'test-kit', causationId: 'test-kit', actor: 'test-kit', at: new Date().toISOString() };
  await store.appendToStream(POLICY_STREAM, [{ id: randomUUID(), type: 'PolicyActivated', data, metadata }], { expectedRevision: 'any' });
  return snapshot;
}

export type TestDecision = 'allow' | 'deny' | 'require_human';

export interface SubmittedTestJob {
  readonly jobId: string;
  /** The job's tenant and id (tenant `default` unless the request overrides it). */
  readonly ref: JobRef;
  readonly request: JobRequest;
  readonly jobHash: string;
}

/** A command handler over a store, as the services build it. */
export function commandsFor(store: EventStore): JobCommandHandler {
  return new JobCommandHandler(store, new SignoffMetrics());
}

function meta(actor: string, now: Date = new Date()) {
  return commandMetadata(new FixedClock(now), { actor });
}

/** Records a submitted job with the given policy outcome (JobSubmitted, PolicyEvaluated, ApprovalRequested). */
export async function submitTestJob(
  commands: JobCommandHandler,
  jobId: string,
  decision: TestDecision,
  overrides: Partial<JobRequest> = {},
  now?: Date,
): Promise<SubmittedTestJob> {
  const request = normalizeJobRequest({
    topic: decision === 'require_human' ? 'finance.payment.execute' : 'knowledge.read',
    submitted_by: 'agent-7',
    priority: 'high',
    tenant: DEFAULT_TENANT,
    labels: decision === 'require_human' ? { env: 'production' } : { env: 'dev' },
    payload: { amount: 1200, currency: 'EUR', note: 'ünïcødé ✓' },
    ...overrides,
  });
  const hash = jobHash(request);
  const ref: JobRef = { tenant: request.tenant, jobId };
  const { result } = await commands.execute(ref, (): SubmitJob => ({
    type: 'SubmitJob',
    data: {
      job_id: jobId,
      request,
      job_hash: hash,
      policy: {
        decision,
        rule_id: `rule-${decision}`,
        reason: `test ${decision}`,
        policy_snapshot: TEST_SNAPSHOT,
        policy_version: 'v1',
        ...(decision === 'require_human' ? { approval: { required: 1, reviewers: [], timeout_ms: 3_600_000, on_timeout: 'reject' as const } } : {}),
      },
      ...(decision === 'require_human' ? { approval_ref: `apr_${jobId}` } : {}),
    },
    metadata: meta('agent-7', now),
  }));
  if (!result.ok) throw new Error(`submit ${jobId}: ${result.code} ${result.message}`);
  return { jobId, ref, request, jobHash: hash };
}

/** One reviewer approves (quorum 1): ApprovalVoteRecorded + ApprovalGranted. Returns the approval id. */
export async function approveTestJob(commands: JobCommandHandler, job: SubmittedTestJob, now?: Date): Promise<string> {
  const approvalId = `approval-${job.jobId}`;
  const { result } = await commands.execute(job.ref, (): ApproveJob => ({
    type: 'ApproveJob',
    data: {
      job_id: job.jobId,
      reviewer: 'rita',
      reviewer_roles: ['reviewer'],
      reason: 'checked the invoice',
      active_policy_snapshot: TEST_SNAPSHOT,
      current_job_hash: job.jobHash,
      approval_id: approvalId,
    },
    metadata: meta('rita', now),
  }));
  if (!result.ok || result.outcome.status !== 'approved') throw new Error(`approve ${job.jobId}: ${JSON.stringify(result)}`);
  return approvalId;
}

export async function rejectTestJob(commands: JobCommandHandler, job: SubmittedTestJob): Promise<void> {
  const { result } = await commands.execute(job.ref, (): RejectJob => ({
    type: 'RejectJob',
    data: { job_id: job.jobId, reviewer: 'rita', reviewer_roles: ['reviewer'], reason: 'no' },
    metadata: meta('rita'),
  }));
  if (!result.ok) throw new Error(`reject ${job.jobId}: ${result.code}`);
}

/** A job of the tenant `default` by id, or the job a ref names. */
function refOf(job: string | JobRef): JobRef {
  return typeof job === 'string' ? { tenant: DEFAULT_TENANT, jobId: job } : job;
}

/** The event types of a job's stream, in order (a bare id: a job of the tenant `default`). */
export async function eventTypes(store: EventStore, job: string | JobRef): Promise<string[]> {
  return (await store.readStream<JobEvent>(toJobStreamId(refOf(job)))).map((e) => e.type);
}

/** The data of the job's events of one type (a bare id: a job of the tenant `default`). */
export async function eventsOf<T extends JobEvent['type']>(store: EventStore, job: string | JobRef, type: T): Promise<SignoffEventMap[T][]> {
  return (await store.readStream<JobEvent>(toJobStreamId(refOf(job)))).filter((e) => e.type === type).map((e) => e.data as SignoffEventMap[T]);
}

/** A consumed message with its JSON value. */
export interface RecordedMessage extends InboundMessage {
  readonly json: unknown;
}

/**
 * Everything published to a topic (from its beginning), in a fresh consumer group, once per
 * partition and offset (the bus delivers at least once: a broker restart redelivers).
 */
export class TopicRecorder {
  readonly messages: RecordedMessage[] = [];
  private readonly seen = new Set<string>();
  private subscription: Subscription | null = null;

  private constructor(private readonly bus: MessageBus) {}

  static async start(bus: MessageBus, topic: string): Promise<TopicRecorder> {
    const recorder = new TopicRecorder(bus);
    recorder.subscription = await bus.subscribe({
      groupId: `test-recorder-${randomUUID()}`,
      topics: [topic],
      fromBeginning: true,
      handler: async (message) => {
        const where = `${message.partition}:${message.offset}`;
        if (recorder.seen.has(where)) return;
        recorder.seen.add(where);
        let json: unknown = null;
        try {
          json = message.value ? JSON.parse(message.value.toString('utf8')) : null;
        } catch {
          json = null;
        }
        recorder.messages.push({ ...message, json });
      },
    });
    return recorder;
  }

  /** The messages whose key is this job id. */
  forJob(jobId: string): RecordedMessage[] {
    return this.messages.filter((m) => m.key === jobId);
  }

  async stop(): Promise<void> {
    await this.subscription?.stop();
  }
}

/** Polls until `check` holds. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function admin(brokers: readonly string[]) {
  return new Kafka({ brokers: [...brokers], clientId: 'dispatch-test-admin', logLevel: logLevel.NOTHING }).admin();
}

/** How many messages a topic holds (sum of its partitions' end offsets; the topics are never compacted). */
export async function topicMessageCount(brokers: readonly string[], topic: string): Promise<number> {
  const a = admin(brokers);
  await a.connect();
  try {
    const offsets = await a.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await a.disconnect();
  }
}

/**
 * Waits until consumer group `groupId` committed the end of every partition of `topics`: every
 * message published so far was handled (the bus commits only after its handler resolved).
 */
export async function waitForGroupCaughtUp(brokers: readonly string[], groupId: string, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await waitFor(
      async () => {
        for (const topic of topics) {
          const ends = await a.fetchTopicOffsets(topic);
          const [committed] = await a.fetchOffsets({ groupId, topics: [topic] });
          for (const end of ends) {
            const c = committed?.partitions.find((p) => p.partition === end.partition);
            const done = c && Number(c.offset) >= 0 ? Number(c.offset) : Number(end.low);
            if (done < Number(end.high)) return false;
          }
        }
        return true;
      },
      `group ${groupId} to handle everything on ${topics.join(', ')}`,
      timeoutMs,
    );
  } finally {
    await a.disconnect();
  }
}

/** Waits until consumer group `groupId` is Stable with exactly `members` members (dead members expired). */
export async function waitForGroupMembers(brokers: readonly string[], groupId: string, members: number, timeoutMs = 30_000): Promise<void> {
  const a = admin(brokers);
  await a.connect();
  try {
    await waitFor(
      async () => {
        const { groups } = await a.describeGroups([groupId]);
        return groups[0]?.state === 'Stable' && groups[0].members.length === members;
      },
      `group ${groupId} stable with ${members} member(s)`,
      timeoutMs,
    );
  } finally {
    await a.disconnect();
  }
}
