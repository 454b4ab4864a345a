import { randomBytes } from 'node:crypto';
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApproveDto, CreateDelegationDto, RejectDto, RevokeDelegationDto, SignoffError } from '@signoff/contracts';
import { Clock, requestedJobRef } from '@signoff/core';
import { hasAnyRole, Principal, Public } from '@signoff/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApproveCommand } from '../approve/approve.command';
import { GrantDelegationCommand } from '../delegation/grant-delegation/grant-delegation.command';
import { ListDelegationsQuery } from '../delegation/list-delegations/list-delegations.query';
import { RevokeDelegationCommand } from '../delegation/revoke-delegation/revoke-delegation.command';
import { GetApprovalQuery } from '../get-approval/get-approval.query';
import { JobEventsQuery } from '../job-events/job-events.query';
import { ListApprovalsQuery } from '../list-approvals/list-approvals.query';
import { RejectCommand } from '../reject/reject.command';
import {
  APPROVAL_MODULE_OPTIONS,
  ApprovalModuleOptions,
  DEFAULT_SSE_HEARTBEAT_MS,
  DEFAULT_SSE_MAX_BUFFERED_BYTES,
  DEFAULT_SSE_SLOW_CLIENT_GRACE_MS,
} from '../shared/approval-options';
import { writeApprovalChanges } from '../shared/sse-writer';
import { validateBody } from '../shared/validate-body';
import { WatchApprovalsQuery } from '../watch-approvals/watch-approvals.query';
import { CONSOLE_ASSETS } from './console-assets';
import { ConsoleAuth, ConsoleRefusal, ConsoleSession } from './console-auth';
import { amendedRequestOf } from './console-amend';
import { DELEGATION_ID, DELEGATION_OUTCOMES, delegationBodyOf, delegationsPage } from './console-delegations';
import { formOf } from './console-form';
import { SafeHtml } from './console-html';
import { OUTCOME_MESSAGES, refusalMessage, statusOf } from './console-messages';
import { approvalHref, detailPage, errorPage, Flash, inboxPage, InboxFilters, PageContext, signInPage } from './console-pages';
import { clearCookie, PRE_SESSION_COOKIE, SESSION_COOKIE, setCookie } from './console-session';

/** Headers of every console response: no inline script, no framing, no referrer, no caching of pages. */
export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

const CONSOLE_ROLES = ['reviewer', 'admin', 'auditor'] as const;

type Form = Readonly<Record<string, string>>;


/** The first string value of a query parameter or header, or undefined (also past `max` characters). */
function one(value: unknown, max = 200): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

/** `on_behalf_of` of a decision form: the delegator named, or nothing for a vote of one's own. */
function onBehalfOf(form: Form): { on_behalf_of?: string } {
  const name = form.on_behalf_of?.trim();
  return name ? { on_behalf_of: name } : {};
}

/** The flash of a refusal: its sentence, and for invalid input what was wrong with which field. */
function refusalFlash(error: unknown): Flash {
  if (error instanceof ConsoleRefusal) return { kind: 'error', text: refusalMessage(error.code), code: error.code };
  if (error instanceof SignoffError) {
    const errors = (error.extensions.errors as { field?: string; message?: string }[] | undefined) ?? [];
    const detail = error.code === 'invalid_request' && errors.length ? ` ${errors.map((e) => `${e.field ?? 'form'}: ${e.message ?? 'invalid'}`).join('; ')}.` : '';
    // A denied edit says why, in the policy's own words (its reason names the rule; escaped like everything).
    const reason = error.code === 'amendment_denied' && typeof error.extensions.reason === 'string' ? error.extensions.reason.trim().slice(0, 500) : '';
    const why = reason ? ` Policy: ${reason}${/[.!?]$/.test(reason) ? '' : '.'}` : '';
    return { kind: 'error', text: refusalMessage(error.code) + detail + why, code: error.code };
  }
  return { kind: 'error', text: refusalMessage('internal'), code: 'internal' };
}

function statusOfError(error: unknown): number {
  if (error instanceof ConsoleRefusal) return statusOf(error.code);
  if (error instanceof SignoffError) return error.status;
  return 500;
}

/**
 * The reviewer console (`/console`): server-rendered pages over the same queries and commands as
 * the API. Public for the API's bearer guard: the console authenticates its own session cookie
 * (`ConsoleAuth`), and every page or decision then goes through the QueryBus / CommandBus with the
 * session's principal, so tenants, topics, reviewer roles and self-approval hold exactly as on the
 * API. GETs only read; decisions are POSTs that pass the same-site and CSRF checks first.
 */
@ApiExcludeController()
@Public()
@Controller('console')
export class ConsoleHttpController {
  private readonly sse: { heartbeatMs: number; maxBufferedBytes: number; slowClientGraceMs: number };

  constructor(
    private readonly auth: ConsoleAuth,
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
    private readonly clock: Clock,
    @Inject(APPROVAL_MODULE_OPTIONS) options: ApprovalModuleOptions,
  ) {
    this.sse = {
      heartbeatMs: options.sseHeartbeatMs ?? DEFAULT_SSE_HEARTBEAT_MS,
      maxBufferedBytes: options.sseMaxBufferedBytes ?? DEFAULT_SSE_MAX_BUFFERED_BYTES,
      slowClientGraceMs: options.sseSlowClientGraceMs ?? DEFAULT_SSE_SLOW_CLIENT_GRACE_MS,
    };
  }

  @Get('assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): void {
    const asset = Object.hasOwn(CONSOLE_ASSETS, name) ? CONSOLE_ASSETS[name as keyof typeof CONSOLE_ASSETS] : null;
    reply.headers(CONSOLE_SECURITY_HEADERS);
    if (!asset) {
      reply.code(404).type('text/plain; charset=utf-8').send('not found');
      return;
    }
    reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body);
  }

  @Get('sign-in')
  async signInForm(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const session = await this.auth.session(request);
    if (session) return this.redirect(reply, '/console');
    const nonce = randomBytes(24).toString('base64url');
    reply.header('set-cookie', setCookie(PRE_SESSION_COOKIE, nonce, 3600, request.protocol === 'https'));
    this.page(reply, 200, signInPage(this.ctx(null, this.auth.preSessionCsrf(nonce))));
  }

  @Post('sign-in')
  async signIn(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const form = formOf(request.body);
    const secure = request.protocol === 'https';
    try {
      this.auth.checkPost(request, form, 'pre-session');
      const signedIn = await this.auth.signIn(form);
      if (!hasAnyRole(signedIn.principal, [...CONSOLE_ROLES])) throw new ConsoleRefusal('console_role_required');
      reply.header('set-cookie', [
        setCookie(SESSION_COOKIE, signedIn.credential, (signedIn.expiresAt.getTime() - Date.now()) / 1000, secure),
        clearCookie(PRE_SESSION_COOKIE, secure),
      ]);
      this.redirect(reply, '/console');
    } catch (error) {
      // A fresh form (and pre-session) with the reason; the pasted token is never echoed.
      const nonce = randomBytes(24).toString('base64url');
      reply.header('set-cookie', setCookie(PRE_SESSION_COOKIE, nonce, 3600, secure));
      this.page(reply, statusOfError(error), signInPage(this.ctx(null, this.auth.preSessionCsrf(nonce)), refusalFlash(error)));
    }
  }

  @Post('sign-out')
  async signOut(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const secure = request.protocol === 'https';
    let session: ConsoleSession | null = null;
    try {
      session = await this.auth.session(request);
      if (session) this.auth.checkPost(request, formOf(request.body), session);
    } catch (error) {
      return this.page(reply, statusOfError(error), errorPage(this.ctx(session?.principal ?? null, session?.csrf), refusalFlash(error), false));
    }
    reply.header('set-cookie', clearCookie(SESSION_COOKIE, secure));
    this.redirect(reply, '/console/sign-in');
  }

  @Get()
  async inbox(@Req() request: FastifyRequest, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const session = await this.signedIn(request, reply);
    if (!session) return;
    const filters: InboxFilters = {
      topic: one(query.topic) || undefined,
      tenant: one(query.tenant) || undefined,
      rule: one(query.rule) || undefined,
      drifted: one(query.drifted) || undefined,
      expires_within: one(query.expires_within) || undefined,
    };
    const ctx = this.ctx(session.principal, session.csrf);
    try {
      const page = await this.queries.execute(new ListApprovalsQuery(session.principal, { ...filters, cursor: one(query.cursor, 2048), limit: 50 }));
      this.page(reply, 200, inboxPage(ctx, filters, page.items, page.next_cursor));
    } catch (error) {
      this.page(reply, statusOfError(error), inboxPage(ctx, filters, [], null, refusalFlash(error)));
    }
  }

  /** The WatchApprovalsQuery changes for the inbox's EventSource (which cannot send a bearer header). */
  @Get('stream')
  async stream(@Req() request: FastifyRequest, @Query('topic') topic: unknown, @Res() reply: FastifyReply): Promise<void> {
    reply.headers(CONSOLE_SECURITY_HEADERS);
    let session: ConsoleSession | null;
    try {
      session = await this.auth.session(request);
    } catch (error) {
      reply.code(statusOfError(error)).type('text/plain; charset=utf-8').send(error instanceof SignoffError ? error.code : 'internal');
      return;
    }
    if (!session || !hasAnyRole(session.principal, [...CONSOLE_ROLES])) {
      reply.code(session ? 403 : 401).type('text/plain; charset=utf-8').send(session ? 'forbidden' : 'sign in first');
      return;
    }
    const lastEventId = one(request.headers['last-event-id'])?.trim() || undefined;
    try {
      const changes = await this.queries.execute(new WatchApprovalsQuery(session.principal, { topic: one(topic) || undefined, after: lastEventId }));
      writeApprovalChanges(reply, changes, { ...this.sse, headers: CONSOLE_SECURITY_HEADERS });
    } catch (error) {
      // An id this instance no longer retains: start over (the script reloads the page on 400).
      reply.code(statusOfError(error)).type('text/plain; charset=utf-8').send(error instanceof SignoffError ? error.code : 'internal');
    }
  }

  @Get('approvals/:job_id')
  async detail(@Req() request: FastifyRequest, @Param('job_id') jobId: string, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const session = await this.signedIn(request, reply);
    if (!session) return;
    const done = one(query.done);
    const flash: Flash | null = done && Object.hasOwn(OUTCOME_MESSAGES, done) ? { kind: 'success', text: OUTCOME_MESSAGES[done]!, code: done } : null;
    await this.renderDetail(reply, session, jobId, query.tenant, 200, flash);
  }

  @Post('approvals/:job_id/approve')
  approve(@Req() request: FastifyRequest, @Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.decide(request, reply, jobId, tenant, (principal, form) => {
      // Invalid JSON or label lines are refused here (400, the field and the place); the rest is the API's.
      const amended = amendedRequestOf(form);
      const input = validateBody(
        ApproveDto,
        {
          ...(form.reason ? { reason: form.reason } : {}),
          policy_snapshot: form.policy_snapshot ?? '',
          job_hash: form.job_hash ?? '',
          ...onBehalfOf(form),
          ...(amended ? { amended_request: amended } : {}),
        },
        'approval',
      );
      return this.commands.execute(new ApproveCommand(principal, requestedJobRef(principal, jobId, tenant), input));
    });
  }

  @Post('approvals/:job_id/reject')
  reject(@Req() request: FastifyRequest, @Param('job_id') jobId: string, @Query('tenant') tenant: unknown, @Res() reply: FastifyReply): Promise<void> {
    return this.decide(request, reply, jobId, tenant, (principal, form) => {
      const input = validateBody(RejectDto, { reason: (form.reason ?? '').trim(), ...onBehalfOf(form) }, 'rejection');
      return this.commands.execute(new RejectCommand(principal, requestedJobRef(principal, jobId, tenant), input));
    });
  }

  /** My delegations, given and received, with the forms to delegate and revoke. */
  @Get('delegations')
  async delegations(@Req() request: FastifyRequest, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const session = await this.signedIn(request, reply);
    if (!session) return;
    const done = one(query.done);
    const flash: Flash | null = done && Object.hasOwn(DELEGATION_OUTCOMES, done) ? { kind: 'success', text: DELEGATION_OUTCOMES[done]!, code: done } : null;
    await this.renderDelegations(reply, session, 200, flash);
  }

  @Post('delegations')
  grantDelegation(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.delegationForm(request, reply, async (principal, form) => {
      const input = validateBody(CreateDelegationDto, delegationBodyOf(form), 'delegation');
      await this.commands.execute(new GrantDelegationCommand(principal, input));
      return 'delegated';
    });
  }

  @Post('delegations/:id/revoke')
  revokeDelegation(@Req() request: FastifyRequest, @Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    return this.delegationForm(request, reply, async (principal, form) => {
      if (!DELEGATION_ID.test(id)) throw new SignoffError('not_found', 'delegation not found');
      const reason = form.reason?.trim();
      const input = validateBody(RevokeDelegationDto, reason ? { reason } : {}, 'revocation');
      return (await this.commands.execute(new RevokeDelegationCommand(principal, id, input))).outcome;
    });
  }

  /** A delegation form: session, same-site, CSRF, the reviewer role, the one command; 303 to the list, or the list with the refusal. */
  private async delegationForm(request: FastifyRequest, reply: FastifyReply, send: (principal: Principal, form: Form) => Promise<string>): Promise<void> {
    let session: ConsoleSession | null;
    try {
      session = await this.auth.session(request);
    } catch (error) {
      return this.page(reply, statusOfError(error), errorPage(this.ctx(null), refusalFlash(error), true));
    }
    if (!session) return this.page(reply, 401, errorPage(this.ctx(null), refusalFlash(new ConsoleRefusal('session_expired')), true));
    const form = formOf(request.body);
    try {
      this.auth.checkPost(request, form, session);
    } catch (error) {
      return this.page(reply, statusOfError(error), errorPage(this.ctx(session.principal, session.csrf), refusalFlash(error), false));
    }
    try {
      if (!hasAnyRole(session.principal, ['reviewer'])) throw new SignoffError('forbidden', 'requires the reviewer role');
      const outcome = await send(session.principal, form);
      this.redirect(reply, `/console/delegations?done=${encodeURIComponent(outcome)}`);
    } catch (error) {
      await this.renderDelegations(reply, session, statusOfError(error), refusalFlash(error));
    }
  }

  private async renderDelegations(reply: FastifyReply, session: ConsoleSession, status: number, flash: Flash | null): Promise<void> {
    const ctx = this.ctx(session.principal, session.csrf);
    const mayDelegate = hasAnyRole(session.principal, ['reviewer']);
    try {
      const list = await this.queries.execute(new ListDelegationsQuery(session.principal, {}));
      this.page(reply, status, delegationsPage(ctx, list.items, list.truncated, mayDelegate, flash));
    } catch (error) {
      this.page(reply, flash?.kind === 'error' ? status : statusOfError(error), delegationsPage(ctx, [], false, mayDelegate, flash?.kind === 'error' ? flash : refusalFlash(error)));
    }
  }

  /**
   * A decision: session, same-site, CSRF, then the one command; 303 to the detail page with the
   * outcome, or the detail page again (evidence read anew) with the refusal's sentence.
   */
  private async decide(
    request: FastifyRequest,
    reply: FastifyReply,
    jobId: string,
    tenant: unknown,
    send: (principal: Principal, form: Form) => Promise<{ status: string }>,
  ): Promise<void> {
    let session: ConsoleSession | null;
    try {
      session = await this.auth.session(request);
    } catch (error) {
      return this.page(reply, statusOfError(error), errorPage(this.ctx(null), refusalFlash(error), true));
    }
    if (!session) return this.page(reply, 401, errorPage(this.ctx(null), refusalFlash(new ConsoleRefusal('session_expired')), true));
    const form = formOf(request.body);
    try {
      this.auth.checkPost(request, form, session);
    } catch (error) {
      return this.page(reply, statusOfError(error), errorPage(this.ctx(session.principal, session.csrf), refusalFlash(error), false));
    }
    try {
      if (!hasAnyRole(session.principal, ['reviewer'])) throw new SignoffError('forbidden', 'requires the reviewer role');
      const outcome = await send(session.principal, form);
      const href = approvalHref(jobId, typeof tenant === 'string' && tenant ? tenant : '');
      this.redirect(reply, `${href}${href.includes('?') ? '&' : '?'}done=${encodeURIComponent(outcome.status)}`);
    } catch (error) {
      await this.renderDetail(reply, session, jobId, tenant, statusOfError(error), refusalFlash(error));
    }
  }

  private async renderDetail(reply: FastifyReply, session: ConsoleSession, jobId: string, tenant: unknown, status: number, flash: Flash | null): Promise<void> {
    const { principal } = session;
    const ctx = this.ctx(principal, session.csrf);
    try {
      const ref = requestedJobRef(principal, jobId, tenant);
      const [approval, history] = await Promise.all([
        this.queries.execute(new GetApprovalQuery(principal, ref, { policyChange: true })),
        this.queries.execute(new JobEventsQuery(principal, ref)),
      ]);
      const evaluated = history.events.find((e) => e.type === 'PolicyEvaluated');
      const reason = evaluated && typeof (evaluated.data as { reason?: unknown }).reason === 'string' ? (evaluated.data as { reason: string }).reason : null;
      this.page(reply, status, detailPage(ctx, { approval, events: history.events, reason, mayDecide: hasAnyRole(principal, ['reviewer']) }, flash));
    } catch (error) {
      // The refusal of the decision, if any, says more than the read's (both are shown).
      const shown = flash?.kind === 'error' ? flash : refusalFlash(error);
      this.page(reply, flash?.kind === 'error' ? status : statusOfError(error), errorPage(ctx, shown, false));
    }
  }

  /** The session of a page request; without one, a 303 to the sign-in page (and null). */
  private async signedIn(request: FastifyRequest, reply: FastifyReply): Promise<ConsoleSession | null> {
    let session: ConsoleSession | null;
    try {
      session = await this.auth.session(request);
    } catch (error) {
      this.page(reply, statusOfError(error), errorPage(this.ctx(null), refusalFlash(error), true));
      return null;
    }
    if (!session) {
      if (request.headers.cookie?.includes(`${SESSION_COOKIE}=`)) reply.header('set-cookie', clearCookie(SESSION_COOKIE, request.protocol === 'https'));
      this.redirect(reply, '/console/sign-in');
      return null;
    }
    if (!hasAnyRole(session.principal, [...CONSOLE_ROLES])) {
      this.page(reply, 403, errorPage(this.ctx(session.principal, session.csrf), refusalFlash(new ConsoleRefusal('console_role_required')), false));
      return null;
    }
    return session;
  }

  private ctx(principal: Principal | null, csrf = ''): PageContext {
    return { principal, csrf, now: this.clock.now() };
  }

  private page(reply: FastifyReply, status: number, page: SafeHtml): void {
    reply.code(status).headers(CONSOLE_SECURITY_HEADERS).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page.html);
  }

  private redirect(reply: FastifyReply, location: string): void {
    reply.code(303).headers(CONSOLE_SECURITY_HEADERS).header('cache-control', 'no-store').header('location', location).send();
  }
}
