import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Clock, SIGNOFF_CONFIG } from '@signoff/core';
import { EventStore } from '@signoff/event-store';
import { SignoffMetrics } from '@signoff/observability';
import type { SignoffConfig, SlackConfig } from '@signoff/runtime';
import { SLACK_CONFIG } from './slack-interactions.http.controller';
import { WebhookEndpointDelivery } from '../webhooks/webhook-endpoint.delivery';
import { slackTarget } from './slack-outbound.delivery';

/** Starts the Slack delivery once the application has bootstrapped; stops it before the store closes. */
@Injectable()
export class SlackDeliveries implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly delivery: WebhookEndpointDelivery;

  constructor(@Inject(SIGNOFF_CONFIG) config: SignoffConfig, @Inject(SLACK_CONFIG) slack: SlackConfig, store: EventStore, metrics: SignoffMetrics, clock: Clock) {
    const { endpoints: _endpoints, ...settings } = config.webhooks;
    this.delivery = new WebhookEndpointDelivery(slackTarget(slack), settings, store, metrics, clock);
  }

  onApplicationBootstrap(): void {
    this.delivery.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.delivery.stop();
  }
}
