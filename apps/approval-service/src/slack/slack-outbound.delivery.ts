import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { fromJobStreamId, JOB_STREAM_PREFIX, JobSubmittedData } from '@signoff/contracts';
import type { Clock } from '@signoff/core';
import { deterministicUuid, EventStore, RecordedEvent, SubscriptionHandle } from '@signoff/event-store';
import type { SignoffMetrics } from '@signoff/observability';
import type { SlackConfig, WebhooksConfig } from '@signoff/runtime';
import { webhookBackoffMs } from '../webhooks/webhook-backoff';
import { abortableSleep, WebhookDeliveryClaims } from '../webhooks/webhook-delivery.claim';
import { webhookLeaseMs } from '../webhooks/webhook-endpoint.delivery';
import { toWebhookPayload, WEBHOOK_SOURCE_EVENTS, WebhookSourceEvent } from '../webhooks/webhook-payload.mapper';
import { approvalRequestMessage } from './slack-message.blocks';

/** The checkpoint, dead-letter stream and metric label of the Slack delivery (`:` keeps it apart from any webhook endpoint id). */
export const SLACK_DELIVERY_ID = 'slack:outbound';
export const SLACK_DELIVERY_FAILED = 'SlackDeliveryFailed';

class Stopped extends Error {}

/**
 * Posts approval changes to Slack's incoming webhook from a checkpointed subscription of the log,
 * exactly as a webhook endpoint is served (batch of one, at least once, retries with back-off,
 * a per-message claim across instances, a dead letter once the attempts run out): a dead Slack
 * only holds this checkpoint back, never a vote or a job.
 */
export class SlackOutboundDelivery {
  private readonly logger = new Logger('Slack');
  private handle: SubscriptionHandle | null = null;
  private readonly abort = new AbortController();
  private readonly claims: WebhookDeliveryClaims;

  constructor(
    private readonly slack: SlackConfig,
    private readonly settings: Omit<WebhooksConfig, 'endpoints'>,
    private readonly store: EventStore,
    private readonly metrics: SignoffMetrics,
    private readonly clock: Clock,
  ) {
    this.claims = new WebhookDeliveryClaims(store, clock, SLACK_DELIVERY_ID, randomUUID(), webhookLeaseMs(settings));
  }

  start(): void {
    this.handle = this.store.subscribe<WebhookSourceEvent & { type: string; data: unknown }>(SLACK_DELIVERY_ID, {
      filter: { streamPrefix: JOB_STREAM_PREFIX, eventTypes: this.slack.events.map((t) => WEBHOOK_SOURCE_EVENTS[t]) },
      batchSize: 1,
      pollIntervalMs: 50,
      handler: (event) => this.deliver(event as RecordedEvent<WebhookSourceEvent>),
      onError: (error) => {
        if (!(error instanceof Stopped)) this.logger.warn(`slack: ${(error as Error).message}`);
      },
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.handle?.stop();
    this.handle = null;
  }

  private async deliver(event: RecordedEvent<WebhookSourceEvent>): Promise<void> {
    const body = JSON.stringify(await this.message(event));
    const claim = await this.claims.claim(event.id, this.abort.signal);
    if (claim === 'stopped') throw new Stopped();
    if (claim === 'settled') return;
    try {
      for (let attempt = 1; ; attempt += 1) {
        if (this.abort.signal.aborted) throw new Stopped();
        const failure = await this.send(body);
        if (failure === null) {
          this.metrics.webhookDeliveries.inc({ endpoint: SLACK_DELIVERY_ID, outcome: 'delivered' });
          break;
        }
        if (attempt >= this.settings.maxAttempts) {
          const data = { webhook_id: event.id, type: event.type, job_id: event.data.job_id, position: event.position.toString(), attempts: attempt, reason: failure, failed_at: this.clock.now().toISOString() };
          const id = deterministicUuid(`slack-dead-letter:${event.id}`);
          await this.store.appendToStream(SLACK_DELIVERY_ID, [{ id, type: SLACK_DELIVERY_FAILED, data }], { expectedRevision: 'any' });
          this.metrics.webhookDeliveries.inc({ endpoint: SLACK_DELIVERY_ID, outcome: 'dead_lettered' });
          this.logger.warn(`slack: ${event.type} ${event.id} dead-lettered after ${attempt} attempts (${failure})`);
          break;
        }
        this.metrics.webhookDeliveries.inc({ endpoint: SLACK_DELIVERY_ID, outcome: 'retried' });
        await abortableSleep(webhookBackoffMs(attempt, { baseMs: this.settings.backoffBaseMs, maxMs: this.settings.backoffMaxMs }, Math.random()), this.abort.signal);
      }
      await this.claims.settle(event.id);
    } catch (error) {
      if (error instanceof Stopped || this.abort.signal.aborted) {
        await this.claims.release(event.id).catch(() => undefined);
        throw new Stopped();
      }
      throw error;
    }
  }

  /** The message of an event: Block Kit with buttons for a request, one line otherwise (redacted as webhooks are). */
  private async message(event: RecordedEvent<WebhookSourceEvent>): Promise<{ text: string; blocks?: unknown[] }> {
    const [first] = await this.store.readStream<{ type: string; data: JobSubmittedData }>(event.streamId, { maxCount: 1 });
    const request = first?.type === 'JobSubmitted' ? first.data.request : null;
    const job = { tenant: request?.tenant ?? fromJobStreamId(event.streamId)?.tenant ?? 'default', topic: request?.topic ?? '' };
    if (event.type === 'ApprovalRequested') {
      const d = event.data;
      return approvalRequestMessage({ tenant: job.tenant, jobId: d.job_id, topic: job.topic, ruleId: d.rule_id ?? '(none)', reason: null, approvals: 0, required: d.requirement.required, expiresAt: d.expires_at, policySnapshot: d.policy_snapshot, jobHash: d.job_hash });
    }
    const payload = toWebhookPayload(event, job, event.createdAt);
    return { text: `${payload.type}: ${job.topic} (${job.tenant}/${event.data.job_id})` };
  }

  private async send(body: string): Promise<string | null> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const res = await fetch(this.slack.incomingWebhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body, redirect: 'manual', signal: AbortSignal.any([timeout, this.abort.signal]) });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? null : `status ${res.status}`;
    } catch (error) {
      if (timeout.aborted) return `timeout after ${this.settings.timeoutMs} ms`;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (error as Error).message;
    }
  }
}
