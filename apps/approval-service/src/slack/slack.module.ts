import { DynamicModule, Module } from '@nestjs/common';
import { cqrsHandlers } from '@signoff/core';
import type { SlackConfig } from '@signoff/runtime';
import { SlackDeliveries } from './slack-deliveries.service';
import { SLACK_CONFIG, SLACK_WEB_API, SlackInteractionsHttpController } from './slack-interactions.http.controller';
import { SlackRejectHandler } from './slack-reject.handler';
import { SlackWebApi } from './slack-web-api.client';

/** Slack approvals (inbound interactions, outbound messages from the log); expects the root's CoreModule, AuthModule and the approve handler; registers the Slack reject handler (reject modal). */
@Module({})
export class SlackModule {
  static forRoot(config: SlackConfig): DynamicModule {
    return {
      module: SlackModule,
      controllers: [SlackInteractionsHttpController],
      providers: [
        { provide: SLACK_CONFIG, useValue: config },
        { provide: SLACK_WEB_API, useValue: new SlackWebApi(config) },
        ...cqrsHandlers('SlackModule', { commands: [SlackRejectHandler] }),
        SlackDeliveries,
      ],
    };
  }
}
