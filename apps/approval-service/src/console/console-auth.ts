import { Inject, Injectable } from '@nestjs/common';
import { SignoffError } from '@signoff/contracts';
import { SIGNOFF_CONFIG } from '@signoff/core';
import type { Principal, SignoffConfig } from '@signoff/runtime';
import type { FastifyRequest } from 'fastify';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions } from '../shared/approval-options';
import { consoleKey, crossSiteReason, csrfToken, csrfValid } from './console-csrf';
import { ConsoleIdentityProvider } from './console-identity';
import { ConsoleCode } from './console-messages';
import { PRE_SESSION_COOKIE, readCookie, SESSION_COOKIE } from './console-session';

/** A signed-in request: the credential of the cookie, its principal, the session's CSRF token. */
export interface ConsoleSession {
  readonly credential: string;
  readonly principal: Principal;
  readonly csrf: string;
}

/** A refusal of the console itself (CSRF, cross-site, no session): rendered like an API refusal. */
export class ConsoleRefusal extends Error {
  constructor(readonly code: ConsoleCode) {
    super(code);
  }
}

/**
 * Sessions and CSRF of the console: the cookie's credential verified again on every request
 * (stateless: any instance serves any session), and the checks every POST passes before it is
 * turned into a command: same-site (`Sec-Fetch-Site`, `Origin`) and the CSRF token bound to the
 * session under the server key.
 */
@Injectable()
export class ConsoleAuth {
  private readonly key: Buffer;

  constructor(
    private readonly identity: ConsoleIdentityProvider,
    @Inject(SIGNOFF_CONFIG) config: SignoffConfig,
    @Inject(APPROVAL_MODULE_OPTIONS) options: ApprovalModuleOptions,
  ) {
    this.key = consoleKey(config.consoleSessionSecret ?? options.consoleSecret ?? config.authJwtSecret ?? null);
  }

  /** The session of the request, or null when there is none or its credential no longer verifies. */
  async session(request: FastifyRequest): Promise<ConsoleSession | null> {
    const credential = readCookie(request.headers.cookie, SESSION_COOKIE);
    if (credential === null) return null;
    try {
      const principal = await this.identity.principalOf(credential);
      return { credential, principal, csrf: csrfToken(this.key, credential) };
    } catch (error) {
      if (error instanceof SignoffError && error.code === 'unauthenticated') return null;
      throw error;
    }
  }

  /** The CSRF token of the sign-in form, bound to the pre-session cookie's random value. */
  preSessionCsrf(nonce: string): string {
    return csrfToken(this.key, `pre:${nonce}`);
  }

  /** Refuses a cross-site POST, then one whose `csrf` field is not the token of `session` (or of the pre-session). */
  checkPost(request: FastifyRequest, form: Readonly<Record<string, string>>, session: ConsoleSession | 'pre-session'): void {
    if (crossSiteReason(request.headers) !== null) throw new ConsoleRefusal('cross_site_request');
    if (session === 'pre-session') {
      const nonce = readCookie(request.headers.cookie, PRE_SESSION_COOKIE);
      if (nonce === null || !csrfValid(this.key, `pre:${nonce}`, form.csrf)) throw new ConsoleRefusal('csrf_token_invalid');
      return;
    }
    if (!csrfValid(this.key, session.credential, form.csrf)) throw new ConsoleRefusal('csrf_token_invalid');
  }

  signIn(form: Readonly<Record<string, string>>) {
    return this.identity.signIn(form);
  }
}
