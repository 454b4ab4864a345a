import { ERROR_CODES } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import { consoleKey, crossSiteReason, csrfToken, csrfValid } from './console-csrf';
import { escapeHtml, html, queryString, SafeHtml } from './console-html';
import { formOf } from './console-form';
import { CONSOLE_CODES, OUTCOME_MESSAGES, REFUSAL_MESSAGES, refusalMessage, statusOf } from './console-messages';
import { countdown, detailPage, eventSummary, inboxRow, outcomeText, signInPage, timeline } from './console-pages';
import { clearCookie, readCookie, setCookie } from './console-session';
import type { ApprovalSummary } from '../projections/approval-summary';
import type { ApprovalDetail } from '../get-approval/get-approval.query';

const HOSTILE = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '`${x}`',
  'a\u0000b',
  'lone \uD800 high',
  'lone \uDC00 low',
  '&lt;already&gt;',
  '\u202Ebidi',
];

describe('console templates escape every value', () => {
  it('escapes markup, quotes and backticks; replaces NUL, C0/C1 controls and lone surrogates by U+FFFD; keeps pairs', () => {
    expect(escapeHtml('<script>alert("x")</script>')).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(escapeHtml("it's `x` & y")).toBe('it&#39;s &#96;x&#96; &amp; y');
    expect(escapeHtml('a\u0000b\u0007c\u009Fd')).toBe('a\uFFFDb\uFFFDc\uFFFDd');
    expect(escapeHtml('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(escapeHtml('\uD83D\uDE00 ok\t\n')).toBe('\uD83D\uDE00 ok\t\n');
    expect(escapeHtml('&lt;')).toBe('&amp;lt;');
    expect(escapeHtml(42)).toBe('42');
  });

  it('html`` escapes interpolations (also in attributes), keeps SafeHtml, joins arrays and drops null/undefined/false', () => {
    for (const bad of HOSTILE) {
      const out = html`<p title="${bad}">${bad}</p>`.html;
      expect(out).not.toMatch(/<(script|img)/);
      expect(out.match(/"/g)).toHaveLength(2); // only the attribute's own quotes
      expect(out).not.toContain("'");
      expect(out).not.toContain('\u0000');
      expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
    expect(html`<b>${new SafeHtml('<i>x</i>')}</b>`.html).toBe('<b><i>x</i></b>');
    expect(html`${['<a>', html`<b></b>`]}|${null}${undefined}${false}|${0}`.html).toBe('&lt;a&gt;<b></b>||0');
    expect(queryString({ tenant: 'a&b=c', cursor: undefined, x: '' })).toBe('?tenant=a%26b%3Dc');
  });

  it('renders hostile job data inertly in the inbox row, the detail page and the timeline', () => {
    const bad = HOSTILE.join(' ');
    const summary = {
      job_id: 'job-1',
      approval_ref: 'r',
      topic: bad,
      tenant: 't"1',
      rule_id: bad,
      requested_at: '2026-01-01T00:00:00Z',
      expires_at: '2026-01-01T01:00:00Z',
      policy_snapshot: `sha256:${'a'.repeat(64)}`,
      job_hash: `sha256:${'b'.repeat(64)}`,
      drifted: true,
      approvals: 1,
      required: 2,
      state: 'pending',
      request: { topic: bad, priority: 'high', tenant: 't"1', submitted_by: bad, labels: { [bad]: bad }, payload: { memo: bad } },
    } as unknown as ApprovalSummary;
    const detail = {
      ...summary,
      job_state: 'APPROVAL_REQUIRED',
      reviewers: [bad],
      voters: [bad],
      active_policy_snapshot: `sha256:${'c'.repeat(64)}`,
      policy_change: null,
    } as unknown as ApprovalDetail;
    const events = [
      { revision: 0, id: 'e', type: 'SomethingNew<script>', data: { note: bad, nested: { x: 1 } }, metadata: { actor: bad, at: bad, correlationId: 'c', causationId: 'c' }, recorded_at: 'now' },
    ] as never;
    const now = new Date('2026-01-01T00:00:00Z');
    const ctx = { principal: { sub: bad, roles: new Set(['reviewer' as const]), topics: null, tenants: [bad] }, csrf: bad, now };
    expect(inboxRow(summary, now).html).not.toMatch(/<(script|img)/);
    for (const out of [
      detailPage(ctx, { approval: detail, events, reason: bad, mayDecide: true }, { kind: 'error', text: bad, code: bad }).html,
      signInPage(ctx).html,
    ]) {
      // The one script element is the layout's own.
      expect(out.match(/<script/g)).toHaveLength(1);
      expect(out).toContain('<script src="/console/assets/console.js" defer></script>');
      expect(out).not.toMatch(/<img[\s>]/);
      expect(out).not.toContain('onerror=alert(1)>');
      expect(out).not.toContain('\u0000');
    }
    expect(timeline(events).html).toContain('SomethingNew&lt;script&gt;');
  });

  it('summarises any event type generically: scalars and scalar lists, bounded, no request payload', () => {
    expect(eventSummary({ job_id: 'j', reviewer: 'rita', approvals: 1, approved_by: ['a', 'b'], request: { payload: 1 }, nested: { x: 1 } })).toBe('reviewer: rita · approvals: 1 · approved_by: a, b');
    expect(eventSummary({ text: 'x'.repeat(500) })).toHaveLength('text: '.length + 121);
    expect(eventSummary(null)).toBe('');
  });

  it("names a policy outcome with its rule and approval requirement (this job's drift)", () => {
    expect(outcomeText({ decision: 'deny', rule_id: null })).toBe('deny');
    expect(outcomeText({ decision: 'require_human', rule_id: 'r', approval: { required: 2, reviewers: ['finance-approver'], timeout_ms: 3_600_000, on_timeout: 'reject' } })).toBe(
      'require_human (rule r; 2 reviewers: finance-approver; timeout 60 min)',
    );
  });

  it('counts down to the expiry', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(countdown('2026-01-01T01:30:00Z', now)).toBe('in 1 h 30 min');
    expect(countdown('2026-01-03T01:00:00Z', now)).toBe('in 2 d 1 h');
    expect(countdown('2026-01-01T00:00:45Z', now)).toBe('in 45 s');
    expect(countdown('2025-12-31T23:58:00Z', now)).toBe('expired 2 min 0 s ago');
    expect(countdown('garbage', now)).toBe('unknown');
  });
});

describe('console CSRF tokens and same-site checks', () => {
  const key = consoleKey('x'.repeat(32));

  it('binds the token to the session under the server key, compared in constant time', () => {
    const token = csrfToken(key, 'session-a');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfValid(key, 'session-a', token)).toBe(true);
    expect(csrfValid(key, 'session-b', token)).toBe(false);
    expect(csrfValid(consoleKey('y'.repeat(32)), 'session-a', token)).toBe(false);
    expect(csrfValid(key, 'session-a', token.slice(0, -1))).toBe(false);
    expect(csrfValid(key, 'session-a', `${token}x`)).toBe(false);
    expect(csrfValid(key, 'session-a', undefined)).toBe(false);
    expect(csrfValid(key, 'session-a', '')).toBe(false);
    expect(csrfValid(key, 'session-a', 'x'.repeat(10_000))).toBe(false);
    // The same secret gives the same key on every instance; none gives a random one.
    expect(csrfToken(consoleKey('x'.repeat(32)), 's')).toBe(csrfToken(key, 's'));
    expect(csrfToken(consoleKey(null), 's')).not.toBe(csrfToken(consoleKey(null), 's'));
  });

  it('refuses cross-site Sec-Fetch-Site and foreign Origins; accepts same-origin, Origin null (no-referrer pages) and requests with neither', () => {
    expect(crossSiteReason({ host: 'a.example', origin: 'https://a.example', 'sec-fetch-site': 'same-origin' })).toBeNull();
    expect(crossSiteReason({ host: 'a.example' })).toBeNull();
    expect(crossSiteReason({ host: 'a.example', 'sec-fetch-site': 'cross-site' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example', 'sec-fetch-site': 'same-site' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example', 'sec-fetch-site': 'none' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example', origin: 'https://evil.example' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example', origin: 'null', 'sec-fetch-site': 'same-origin' })).toBeNull();
    expect(crossSiteReason({ host: 'a.example', origin: 'null' })).toBeNull();
    expect(crossSiteReason({ host: 'a.example', origin: 'null', 'sec-fetch-site': 'cross-site' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example', origin: '::garbage' })).not.toBeNull();
    expect(crossSiteReason({ host: 'a.example:8080', origin: 'http://a.example:8081' })).not.toBeNull();
  });

  it('reads and writes the cookies with their flags, bounded', () => {
    expect(readCookie('a=1; signoff_console=abc.def-ghi_; b=2', 'signoff_console')).toBe('abc.def-ghi_');
    expect(readCookie('signoff_console=<script>', 'signoff_console')).toBeNull();
    expect(readCookie(`signoff_console=${'a'.repeat(9000)}`, 'signoff_console')).toBeNull();
    expect(readCookie(undefined, 'signoff_console')).toBeNull();
    expect(setCookie('n', 'v', 3600.7, true)).toBe('n=v; Max-Age=3600; Path=/console; HttpOnly; SameSite=Strict; Secure');
    expect(setCookie('n', 'v', -5, false)).toBe('n=v; Max-Age=0; Path=/console; HttpOnly; SameSite=Strict');
    expect(clearCookie('n', false)).toContain('n=; Max-Age=0');
  });

  it('reads forms: string fields only, the first of a repeated name, nothing from a non-object body', () => {
    const form = formOf({ reason: ['first', 'second'], csrf: 't', n: 3, o: { x: 1 } });
    expect({ ...form }).toEqual({ reason: 'first', csrf: 't' });
    expect(Object.getPrototypeOf(form)).toBeNull();
    expect({ ...formOf('reason=x') }).toEqual({});
    expect({ ...formOf(null) }).toEqual({});
    expect({ ...formOf(['a']) }).toEqual({});
  });
});

describe('console refusal messages', () => {
  it('has a sentence for every API error code and every console code, and a status for each', () => {
    for (const code of [...Object.keys(ERROR_CODES), ...Object.keys(CONSOLE_CODES)]) {
      const sentence = refusalMessage(code);
      expect(REFUSAL_MESSAGES, code).toHaveProperty(code);
      expect(sentence, code).toMatch(/^[A-Z].{10,}\.$/s);
      expect(sentence, code).not.toMatch(/[{}]|Error|stack/);
      expect(statusOf(code), code).toBeGreaterThanOrEqual(400);
    }
    for (const code of ['snapshot_changed', 'job_request_changed', 'stale_review', 'already_rejected', 'expired', 'invalidated', 'not_awaiting_approval', 'self_approval_forbidden', 'forbidden', 'busy', 'not_found']) {
      expect(Object.keys(REFUSAL_MESSAGES)).toContain(code);
    }
    expect(refusalMessage('some_future_code')).toBe('The request was refused. Reload the page and try again.');
    expect(refusalMessage('__proto__')).toBe('The request was refused. Reload the page and try again.');
    expect(Object.keys(OUTCOME_MESSAGES).sort()).toEqual(['already_approved', 'already_rejected', 'approval_recorded', 'approved', 'rejected']);
  });
});
