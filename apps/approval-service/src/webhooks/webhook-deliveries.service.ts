import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock, SIGNOFF_CONFIG } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import type { SignoffConfig } from '@signoff/runtime';
import { WebhookEndpointDelivery, webhookTarget } from './webhook-endpoint.delivery';

/**
 * Outbound webhooks (Standard Webhooks) of the configured endpoints (SIGNOFF_WEBHOOKS_FILE), one
 * {@link WebhookEndpointDelivery} and one checkpoint per endpoint. Like the relays it starts once
 * the application has bootstrapped and stops in `onModuleDestroy`, before the store closes.
 */
@Injectable()
export class WebhookDeliveries implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly deliveries: WebhookEndpointDelivery[];

  constructor(@Inject(SIGNOFF_CONFIG) config: SignoffConfig, store: EventStore, metrics: SignoffMetrics, clock: Clock) {
    const { endpoints, ...settings } = config.webhooks;
    this.deliveries = endpoints.map((endpoint) => new WebhookEndpointDelivery(webhookTarget(endpoint), settings, store, metrics, clock));
  }

  onApplicationBootstrap(): void {
    for (const delivery of this.deliveries) delivery.start();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.deliveries.map((d) => d.stop()));
  }
}
