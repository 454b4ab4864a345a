import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ApprovalRequestedData, fromJobStreamId, JOB_STREAM_PREFIX, JobSubmittedData, signWebhook } from '@signoff/contracts';
import type { Clock } from '@signoff/core';
import { deterministicUuid, EventStore, RecordedEvent, SubscriptionHandle } from '@signoff/event-store';
import type { SignoffMetrics } from '@signoff/observability';
import type { WebhookEndpointConfig, WebhookEventType, WebhooksConfig } from '@signoff/runtime';
import { webhookBackoffMs } from './webhook-backoff';
import { abortableSleep, WebhookDeliveryClaims } from './webhook-delivery.claim';
import { targetReceives, webhookNotifyTarget } from '../escalation/notify-targets';
import { ESCALATION_SOURCE_EVENTS, toWebhookPayload, WEBHOOK_SOURCE_EVENTS, WEBHOOK_TYPE_OF_EVENT, WebhookSourceEvent } from './webhook-payload.mapper';

/** The dead-letter record of a webhook, in the stream `webhook-<endpoint id>`. */
export interface WebhookDeliveryFailedData {
  readonly endpoint_id: string;
  /** The `webhook-id` sent (the event id). */
  readonly webhook_id: string;
  readonly type: string;
  readonly job_id: string;
  /** Global log position of the event that was not delivered. */
  readonly position: string;
  readonly attempts: number;
  /** The last failure: `status 500`, `timeout after 10000 ms`, `ECONNREFUSED`, ... */
  readonly reason: string;
  readonly failed_at: string;
}

export const WEBHOOK_DELIVERY_FAILED = 'WebhookDeliveryFailed';

/** The stream of an endpoint's dead letters. */
export function webhookStreamId(endpointId: string): string {
  return `webhook-${endpointId}`;
}

/** The checkpoint name of an endpoint's subscription. */
export function webhookSubscriptionName(endpointId: string): string {
  return `webhook-${endpointId}`;
}

/** A job's tenant and topic, read from its JobSubmitted, and what its ApprovalRequested recorded. */
export interface DeliveredJob {
  readonly tenant: string;
  readonly topic: string;
  /** When the approval was requested (absent when the stream holds no ApprovalRequested). */
  readonly requested_at?: string;
  /** The requirement's `notify`: the approval's audience (absent: every target whose filter matches). */
  readonly notify?: readonly string[];
}

/** How many events from a job stream's start are read to find its JobSubmitted and ApprovalRequested. */
const JOB_HEAD_EVENTS = 8;

/**
 * Where and how approval events are delivered: a webhook endpoint ({@link webhookTarget}) or
 * Slack's incoming webhook. Everything else (the checkpointed subscription, the claim across
 * instances, retries, the dead letter, the metrics) is the same for every target.
 */
export interface DeliveryTarget {
  /** Metric label, claim streams, log context. */
  readonly id: string;
  /** The name a policy's `notify` gives this target (`webhook:<id>`, `slack`). */
  readonly notifyName: string;
  /** The checkpoint name of the target's subscription. */
  readonly subscription: string;
  /** Where a message that ran out of attempts is recorded, and as which event type. */
  readonly deadLetterStream: string;
  readonly deadLetterType: string;
  readonly events: readonly WebhookEventType[];
  readonly url: string;
  /** The request body of an event and the type named in its dead letter. */
  render(event: RecordedEvent<WebhookSourceEvent>, job: DeliveredJob): { readonly type: string; readonly body: string };
  /** The headers of one attempt (`id` is the event id; `timestamp` in unix seconds). */
  headers(id: string, timestamp: number, body: string): Record<string, string>;
}

/** A Standard Webhooks endpoint of SIGNOFF_WEBHOOKS_FILE. */
export function webhookTarget(endpoint: WebhookEndpointConfig): DeliveryTarget {
  return {
    id: endpoint.id,
    notifyName: webhookNotifyTarget(endpoint.id),
    subscription: webhookSubscriptionName(endpoint.id),
    deadLetterStream: webhookStreamId(endpoint.id),
    deadLetterType: WEBHOOK_DELIVERY_FAILED,
    events: endpoint.events,
    url: endpoint.url,
    render: (event, job) => {
      const payload = toWebhookPayload(event, job, event.createdAt);
      return { type: payload.type, body: JSON.stringify(payload) };
    },
    headers: (id, timestamp, body) => ({ ...signWebhook(endpoint.secrets, id, timestamp, body), 'content-type': 'application/json' }),
  };
}

class DeliveryStopped extends Error {
  constructor() {
    super('webhook delivery stopped');
  }
}

/** Another instance took the message's claim over (this one stalled past its lease). */
class ClaimLost extends Error {
  constructor() {
    super('webhook claim taken over');
  }
}

/**
 * Delivers approval events to ONE target from its own checkpointed subscription (batch of one,
 * so the checkpoint moves after each message): a slow or dead endpoint only holds its own
 * checkpoint back. At least once: the checkpoint moves past an event only after a 2xx or after
 * the event was dead-lettered (WebhookDeliveryFailed appended) once the attempts ran out.
 */
export class WebhookEndpointDelivery {
  private readonly logger: Logger;
  private handle: SubscriptionHandle | null = null;
  private readonly abort = new AbortController();
  private readonly claims: WebhookDeliveryClaims;

  constructor(
    private readonly target: DeliveryTarget,
    private readonly settings: Omit<WebhooksConfig, 'endpoints'>,
    private readonly store: EventStore,
    private readonly metrics: SignoffMetrics,
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
  ) {
    this.logger = new Logger(`Webhook:${target.id}`);
    this.claims = new WebhookDeliveryClaims(store, clock, target.id, randomUUID(), settings.claimLeaseMs);
  }

  start(): void {
    this.handle = this.store.subscribe<WebhookSourceEvent & { type: string; data: unknown }>(this.target.subscription, {
      // The target's own events, and the escalation steps' (delivered when a step names this target).
      filter: { streamPrefix: JOB_STREAM_PREFIX, eventTypes: [...new Set([...this.target.events.map((t) => WEBHOOK_SOURCE_EVENTS[t]), ...ESCALATION_SOURCE_EVENTS])] },
      batchSize: 1,
      pollIntervalMs: 50,
      handler: (event) => this.deliver(event as RecordedEvent<WebhookSourceEvent>),
      onError: (error) => {
        if (!(error instanceof DeliveryStopped)) this.logger.warn(`webhook ${this.target.id}: ${(error as Error).message}`);
      },
    });
  }

  /** Ends the request or wait in flight (the event stays unacknowledged) and stops. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.handle?.stop();
    this.handle = null;
  }

  private async deliver(event: RecordedEvent<WebhookSourceEvent>): Promise<void> {
    const job = await this.jobOf(event);
    // Who is told is what the log recorded (the rule's or the step's `notify`), not today's policy.
    if (!this.receives(event, job)) return;
    const { type, body } = this.target.render(event, job);
    // Another instance of this endpoint's subscription may read the same event: one sends it.
    for (;;) {
      const claim = await this.claims.claim(event.id, this.abort.signal);
      if (claim === 'stopped') throw new DeliveryStopped();
      if (claim === 'settled') return;
      const hold = this.claims.hold(event.id);
      try {
        await this.attempts(event, type, body, hold.lost);
        return;
      } catch (error) {
        if (error instanceof DeliveryStopped) await this.claims.release(event.id).catch(() => undefined);
        if (!(error instanceof ClaimLost)) throw error;
        // This instance stalled past its lease and another took the message over: wait for it to settle.
        this.logger.warn(`webhook ${this.target.id}: ${event.id} was taken over by another instance`);
      } finally {
        await hold.stop();
      }
    }
  }

  /** Sends until a 2xx or the last attempt (then dead-letters), and settles the claim. */
  private async attempts(event: RecordedEvent<WebhookSourceEvent>, type: string, body: string, lost: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (this.abort.signal.aborted) throw new DeliveryStopped();
      if (lost.aborted) throw new ClaimLost();
      const failure = await this.send(event.id, body, lost);
      if (failure === null) {
        this.metrics.webhookDeliveries.inc({ endpoint: this.target.id, outcome: 'delivered' });
        await this.claims.settle(event.id);
        return;
      }
      if (this.abort.signal.aborted) throw new DeliveryStopped();
      if (lost.aborted) throw new ClaimLost();
      if (attempt >= this.settings.maxAttempts) {
        await this.deadLetter(event, type, attempt, failure);
        await this.claims.settle(event.id);
        this.metrics.webhookDeliveries.inc({ endpoint: this.target.id, outcome: 'dead_lettered' });
        this.logger.warn(`webhook ${this.target.id}: ${type} ${event.id} dead-lettered after ${attempt} attempts (${failure})`);
        return;
      }
      this.metrics.webhookDeliveries.inc({ endpoint: this.target.id, outcome: 'retried' });
      await abortableSleep(webhookBackoffMs(attempt, { baseMs: this.settings.backoffBaseMs, maxMs: this.settings.backoffMaxMs }, this.random()), AbortSignal.any([this.abort.signal, lost]));
    }
  }

  /** One POST; null on a 2xx, else why it failed. Redirects are failures, never followed. */
  private async send(id: string, body: string, lost: AbortSignal): Promise<string | null> {
    const timestamp = Math.floor(this.clock.now().getTime() / 1000);
    const headers = this.target.headers(id, timestamp, body);
    const stopTimer = this.metrics.webhookDeliverySeconds.startTimer({ endpoint: this.target.id });
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const res = await fetch(this.target.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.any([timeout, this.abort.signal, lost]) });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? null : `status ${res.status}`;
    } catch (error) {
      if (timeout.aborted) return `timeout after ${this.settings.timeoutMs} ms`;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (error as Error).message;
    } finally {
      stopTimer();
    }
  }

  private async deadLetter(event: RecordedEvent<WebhookSourceEvent>, type: string, attempts: number, reason: string): Promise<void> {
    const data: WebhookDeliveryFailedData = {
      endpoint_id: this.target.id,
      webhook_id: event.id,
      type,
      job_id: event.data.job_id,
      position: event.position.toString(),
      attempts,
      reason,
      failed_at: this.clock.now().toISOString(),
    };
    // A deterministic id: a restart that dead-letters the same event again appends nothing new.
    const id = deterministicUuid(`webhook-dead-letter:${this.target.id}:${event.id}`);
    await this.store.appendToStream(this.target.deadLetterStream, [{ id, type: this.target.deadLetterType, data }], { expectedRevision: 'any' });
  }

  /** Whether this target is told of the event (see `targetReceives`). */
  private receives(event: RecordedEvent<WebhookSourceEvent>, job: DeliveredJob): boolean {
    const escalation = event.type === 'ApprovalReminderSent' || event.type === 'ApprovalEscalated';
    const audience = escalation ? event.data.notify : job.notify;
    const webhookType = WEBHOOK_TYPE_OF_EVENT[event.type];
    const subscribed = webhookType !== undefined && this.target.events.includes(webhookType);
    return targetReceives(this.target.notifyName, audience, subscribed, escalation);
  }

  /** The job's tenant and topic (its JobSubmitted, the first event of its stream) and its approval's request facts. */
  private async jobOf(event: RecordedEvent<WebhookSourceEvent>): Promise<DeliveredJob> {
    type Head = { type: 'JobSubmitted'; data: JobSubmittedData } | { type: 'ApprovalRequested'; data: ApprovalRequestedData } | { type: string; data: unknown };
    const head = await this.store.readStream<Head>(event.streamId, { maxCount: JOB_HEAD_EVENTS });
    const first = head[0];
    const request = first?.type === 'JobSubmitted' ? (first.data as JobSubmittedData).request : null;
    const requested = event.type === 'ApprovalRequested' ? event.data : (head.find((e) => e.type === 'ApprovalRequested')?.data as ApprovalRequestedData | undefined);
    return {
      tenant: request?.tenant ?? fromJobStreamId(event.streamId)?.tenant ?? 'default',
      topic: request?.topic ?? '',
      ...(requested ? { requested_at: requested.requested_at } : {}),
      ...(requested?.requirement.notify ? { notify: requested.requirement.notify } : {}),
    };
  }
}
