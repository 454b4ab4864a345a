import { Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import { SignoffError } from '@signoff/contracts';
import { Clock, requestedJobRef } from '@signoff/core';
import { Public, SlackConfig, slackUserKey } from '@signoff/runtime';
import type { FastifyRequest } from 'fastify';
import { ApproveCommand } from '../approve/approve.command';
import { parseSlackInteraction, SlackInteractionRefused } from './slack-interaction.parser';
import { decodeButtonValue, SLACK_APPROVE_ACTION, SLACK_REJECT_ACTION } from './slack-message.blocks';
import { verifySlackSignature } from './slack-signature';

/** The DI token of the parsed Slack file. */
export const SLACK_CONFIG = Symbol('SLACK_CONFIG');

/** What Slack shows the clicking user only (the interaction's answer). */
export interface SlackEphemeral {
  readonly response_type: 'ephemeral';
  readonly replace_original: false;
  readonly text: string;
}

function ephemeral(text: string): SlackEphemeral {
  return { response_type: 'ephemeral', replace_original: false, text };
}

/**
 * Slack's interactivity endpoint. No JWT: the request is authenticated by Slack's signature over
 * the raw body (Nest's `rawBody: true` keeps it for form bodies; no route's parsing changes). The
 * clicking user is mapped to a configured reviewer and the vote goes on the CommandBus as that
 * principal, so tenants, topics, quorum and self-approval hold exactly as in the API.
 */
@ApiExcludeController()
@Controller('integrations/slack')
export class SlackInteractionsHttpController {
  constructor(
    private readonly commands: CommandBus,
    private readonly clock: Clock,
    @Inject(SLACK_CONFIG) private readonly slack: SlackConfig,
  ) {}

  @Post('interactions')
  @Public()
  @HttpCode(200)
  async interact(@Req() req: RawBodyRequest<FastifyRequest>): Promise<SlackEphemeral> {
    // 1. Authenticate the exact bytes Slack sent, before reading any of them.
    const raw = req.rawBody ?? Buffer.alloc(0);
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const refusal = verifySlackSignature(this.slack.signingSecret, { signature: header('x-slack-signature'), timestamp: header('x-slack-request-timestamp') }, raw, this.clock.now().getTime());
    if (refusal) throw new SignoffError(refusal, refusal === 'slack_timestamp_stale' ? 'the Slack request timestamp is more than five minutes from now' : 'the request is not signed by Slack');
    // 2. Parse; hostile input is a coded 400.
    let interaction;
    try {
      interaction = parseSlackInteraction(raw);
    } catch (error) {
      if (error instanceof SlackInteractionRefused) throw new SignoffError(error.code, error.message);
      throw error;
    }
    // 3. Who clicked: unmapped users cannot decide, and nothing is recorded.
    const principal = this.slack.users.get(slackUserKey(interaction.teamId, interaction.userId));
    if (!principal) return ephemeral(`Your Slack user (${interaction.teamId}/${interaction.userId}) is not mapped to a Signoff reviewer; nothing was recorded.`);
    const button = decodeButtonValue(interaction.value);
    if (!button) return ephemeral('This button is not a Signoff approval button; nothing was recorded.');
    if (interaction.actionId === SLACK_REJECT_ACTION) return ephemeral('Rejecting needs a reason: use the review console or `signoff approvals reject JOB_ID --reason ...`; nothing was recorded.');
    if (interaction.actionId !== SLACK_APPROVE_ACTION) return ephemeral(`Unknown action ${interaction.actionId}; nothing was recorded.`);
    // 4. The vote binds to the snapshot and hash the message showed (a change underneath is the API's 409).
    try {
      const outcome = await this.commands.execute(
        new ApproveCommand(principal, requestedJobRef(principal, button.jobId, button.tenant), {
          reason: `via Slack ${interaction.teamId}/${interaction.userId}`,
          policy_snapshot: button.policySnapshot,
          job_hash: button.jobHash,
        }),
      );
      return ephemeral(`${outcome.status} (${button.tenant}/${button.jobId}) as ${principal.sub}`);
    } catch (error) {
      if (error instanceof SignoffError && error.status < 500) return ephemeral(`Refused (${error.code}): ${error.message}`);
      throw error;
    }
  }
}
