import { DynamicModule, Module } from '@nestjs/common';
import type { SlackConfig } from '@signoff/runtime';
import { SlackDeliveries } from './slack-deliveries.service';
import { SLACK_CONFIG, SlackInteractionsHttpController } from './slack-interactions.http.controller';

/** Slack approvals (inbound interactions, outbound messages from the log); expects the root's CoreModule, AuthModule and the approve handler. */
@Module({})
export class SlackModule {
  static forRoot(config: SlackConfig): DynamicModule {
    return { module: SlackModule, controllers: [SlackInteractionsHttpController], providers: [{ provide: SLACK_CONFIG, useValue: config }, SlackDeliveries] };
  }
}
