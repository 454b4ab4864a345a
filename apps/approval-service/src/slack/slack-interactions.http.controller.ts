import { Controller, HttpCode, Inject, Logger, Post, Req } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import { SignoffError } from '@signoff/contracts';
import { Clock, requestedJobRef } from '@signoff/core';
import { Public, SlackConfig, slackUserKey } from '@signoff/runtime';
import type { FastifyRequest } from 'fastify';
import { ApproveCommand } from '../approve/approve.command';
import { parseSlackRequest, SLACK_MAX_REASON_LENGTH, SlackInteraction, SlackInteractionRefused, SlackViewSubmission } from './slack-interaction.parser';
import {
  decodeButtonValue,
  escapeMrkdwn,
  rejectModal,
  responseUrlOf,
  SLACK_APPROVE_ACTION,
  SLACK_REASON_ACTION,
  SLACK_REASON_BLOCK,
  SLACK_REJECT_ACTION,
  SLACK_REJECT_CALLBACK,
} from './slack-message.blocks';
import { SlackRejectCommand } from './slack-reject.command';
import { verifySlackSignature } from './slack-signature';
import { allowedResponseUrl, replaceOriginalMessage, SlackApiError, SlackWebApi } from './slack-web-api.client';

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

/** The answer to a modal's submission: close it, or keep it open showing why (on the reason input). */
export type SlackViewAnswer = { readonly response_action: 'clear' } | { readonly response_action: 'errors'; readonly errors: Readonly<Record<string, string>> };

function modalError(text: string): SlackViewAnswer {
  return { response_action: 'errors', errors: { [SLACK_REASON_BLOCK]: text.slice(0, 2000) } };
}

/** The DI token of the Slack Web API client (a fake in tests is a local HTTP server, not a substitute class). */
export const SLACK_WEB_API = Symbol('SLACK_WEB_API');

/**
 * Slack's interactivity endpoint. No JWT: the request is authenticated by Slack's signature over
 * the raw body (Nest's `rawBody: true` keeps it for form bodies; no route's parsing changes). The
 * clicking user is mapped to a configured reviewer and the vote goes on the CommandBus as that
 * principal, so tenants, topics, quorum and self-approval hold exactly as in the API. Reject opens
 * a modal (Web API `views.open`, with the bot token) asking for the reason; its signed
 * `view_submission` records the rejection as the mapped reviewer.
 */
@ApiExcludeController()
@Controller('integrations/slack')
export class SlackInteractionsHttpController {
  private readonly logger = new Logger('SlackInteractions');
  constructor(
    private readonly commands: CommandBus,
    private readonly clock: Clock,
    @Inject(SLACK_CONFIG) private readonly slack: SlackConfig,
    @Inject(SLACK_WEB_API) private readonly api: SlackWebApi,
  ) {}

  @Post('interactions')
  @Public()
  @HttpCode(200)
  async interact(@Req() req: RawBodyRequest<FastifyRequest>): Promise<SlackEphemeral | SlackViewAnswer> {
    // 1. Authenticate the exact bytes Slack sent, before reading any of them.
    const raw = req.rawBody ?? Buffer.alloc(0);
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
    const refusal = verifySlackSignature(this.slack.signingSecret, { signature: header('x-slack-signature'), timestamp: header('x-slack-request-timestamp') }, raw, this.clock.now().getTime());
    if (refusal) throw new SignoffError(refusal, refusal === 'slack_timestamp_stale' ? 'the Slack request timestamp is more than five minutes from now' : 'the request is not signed by Slack');
    // 2. Parse; hostile input is a coded 400.
    let request;
    try {
      request = parseSlackRequest(raw);
    } catch (error) {
      if (error instanceof SlackInteractionRefused) throw new SignoffError(error.code, error.message);
      throw error;
    }
    return request.type === 'block_actions' ? this.click(request.interaction) : this.submit(request.submission);
  }

  /** A button: approve at once, or open the reject modal (a reason is required). */
  private async click(interaction: SlackInteraction): Promise<SlackEphemeral> {
    // 3. Who clicked: unmapped users cannot decide, and nothing is recorded.
    const principal = this.slack.users.get(slackUserKey(interaction.teamId, interaction.userId));
    if (!principal) return ephemeral(`Your Slack user (${interaction.teamId}/${interaction.userId}) is not mapped to a Signoff reviewer; nothing was recorded.`);
    const button = decodeButtonValue(interaction.value);
    if (!button) return ephemeral('This button is not a Signoff approval button; nothing was recorded.');
    if (interaction.actionId === SLACK_REJECT_ACTION) return this.openRejectModal(interaction, button);
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
      if (outcome.status === 'approved') this.replaceMessage(interaction.responseUrl, `Approved by ${principal.sub} (${button.tenant}/${button.jobId})`);
      return ephemeral(`${outcome.status} (${button.tenant}/${button.jobId}) as ${principal.sub}`);
    } catch (error) {
      if (error instanceof SignoffError && error.status < 500) return ephemeral(`Refused (${error.code}): ${error.message}`);
      throw error;
    }
  }

  private async openRejectModal(interaction: SlackInteraction, button: NonNullable<ReturnType<typeof decodeButtonValue>>): Promise<SlackEphemeral> {
    const fallback = 'use the review console or `signoff approvals reject JOB_ID --reason ...`; nothing was recorded.';
    if (!this.api.enabled || !interaction.triggerId) return ephemeral(`Rejecting needs a reason: ${fallback}`);
    try {
      const responseUrl = interaction.responseUrl && allowedResponseUrl(interaction.responseUrl, this.slack.apiUrl) ? interaction.responseUrl : null;
      await this.api.viewsOpen(interaction.triggerId, rejectModal(button, SLACK_MAX_REASON_LENGTH, responseUrl));
      return ephemeral(`Opening the reject dialog for ${button.tenant}/${button.jobId}.`);
    } catch (error) {
      if (error instanceof SlackApiError) return ephemeral(`Slack could not open the reject dialog (${error.error}): ${fallback}`);
      throw error;
    }
  }

  /** The reject modal's submission: the rejection, as the mapped reviewer, bound to what the message showed. */
  private async submit(submission: SlackViewSubmission): Promise<SlackViewAnswer> {
    const principal = this.slack.users.get(slackUserKey(submission.teamId, submission.userId));
    if (!principal) return modalError(`Your Slack user (${submission.teamId}/${submission.userId}) is not mapped to a Signoff reviewer; nothing was recorded.`);
    if (submission.callbackId !== SLACK_REJECT_CALLBACK) return modalError('This is not a Signoff dialog; nothing was recorded.');
    const button = decodeButtonValue(submission.privateMetadata);
    if (!button) return modalError('This dialog does not name a Signoff approval; nothing was recorded.');
    const reason = (submission.fields[`${SLACK_REASON_BLOCK}.${SLACK_REASON_ACTION}`] ?? '').trim();
    if (reason.length === 0 || reason.length > SLACK_MAX_REASON_LENGTH || reason.includes('\u0000')) return modalError(`A reason of 1 to ${SLACK_MAX_REASON_LENGTH} characters is required.`);
    try {
      const ref = requestedJobRef(principal, button.jobId, button.tenant);
      // Evidence-bound like the approve button: stale_review when the approval is bound to other than the message showed.
      const outcome = await this.commands.execute(new SlackRejectCommand(principal, ref, reason, { policySnapshot: button.policySnapshot, jobHash: button.jobHash }));
      if (outcome.status === 'rejected') this.replaceMessage(responseUrlOf(submission.privateMetadata), `Rejected by ${principal.sub} (${button.tenant}/${button.jobId}): ${reason}`);
      return { response_action: 'clear' };
    } catch (error) {
      if (error instanceof SignoffError && error.status < 500) return modalError(`Refused (${error.code}): ${error.message}`);
      throw error;
    }
  }

  /** Best effort, not awaited: the answer to Slack must not wait for it, and the decision is recorded already. */
  private replaceMessage(responseUrl: string | null, text: string): void {
    const url = responseUrl ? allowedResponseUrl(responseUrl, this.slack.apiUrl) : null;
    if (!url) return;
    void replaceOriginalMessage(url, escapeMrkdwn(text.slice(0, 3000))).then((failure) => {
      if (failure) this.logger.warn(`updating the Slack message failed: ${failure}`);
    });
  }
}
