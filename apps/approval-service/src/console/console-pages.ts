import type { JobRequest } from '@signoff/contracts';
import type { PolicyDiff, PolicyOutcome } from '@signoff/policy-engine';
import type { Principal } from '@signoff/runtime';
import type { ApprovalDetail } from '../get-approval/get-approval.query';
import type { JobEventView } from '../job-events/job-events.query';
import type { ApprovalSummary } from '../projections/approval-summary';
import { amendForm, amendmentsSection, approvedVersion, escalationFacts, onBehalfField, quorumLine } from './console-amendments';
import { html, queryString, SafeHtml } from './console-html';

/** What every page shows: who is signed in and the CSRF token of the session (sign-out form). */
export interface PageContext {
  readonly principal: Principal | null;
  readonly csrf: string;
  /** Now, for the countdowns rendered on the server (the script keeps them running). */
  readonly now: Date;
}

/** A message in the page's `aria-live` region: a decision's outcome or a refusal. */
export interface Flash {
  readonly kind: 'success' | 'error';
  readonly text: string;
  /** The code behind it (shown small, for support, and as `data-code`). */
  readonly code?: string;
}

function flashBox(flash: Flash | null): SafeHtml {
  return html`<div id="flash" class="flash-region" role="status" aria-live="polite" aria-atomic="true">${
    flash
      ? html`<p class="flash flash-${flash.kind}" data-code="${flash.code ?? ''}">${flash.text}${flash.code ? html` <span class="code">(${flash.code})</span>` : ''}</p>`
      : ''
  }</div>`;
}

/** The page frame: viewport meta, the stylesheet and script of the module (no inline script or style). */
export function layout(title: string, ctx: PageContext, body: SafeHtml, flash: Flash | null = null): SafeHtml {
  const who = ctx.principal;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Signoff console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/console">Signoff · reviewer console</a>
  ${
    who
      ? html`<nav class="nav" aria-label="Console"><a href="/console">Inbox</a> <a href="/console/delegations">Delegations</a></nav>
  <form class="signout" method="post" action="/console/sign-out">
    <span class="who">Signed in as <strong>${who.sub}</strong> (${[...who.roles].join(', ') || 'no API role'}${who.tenants ? html`; tenants ${who.tenants.join(', ')}` : ''})</span>
    <input type="hidden" name="csrf" value="${ctx.csrf}">
    <button type="submit">Sign out</button>
  </form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${flashBox(flash)}
${body}
</main>
</body>
</html>
`;
}

/** `GET /console/sign-in`: paste a token. */
export function signInPage(ctx: PageContext, flash: Flash | null = null): SafeHtml {
  return layout(
    'Sign in',
    ctx,
    html`<h1>Sign in</h1>
<p>Paste an API token (a JWT with the <code>reviewer</code>, <code>admin</code> or <code>auditor</code> role). <code>npm start</code> prints development tokens; use <code>SIGNOFF_REVIEWER_TOKEN</code>.</p>
<form class="card" method="post" action="/console/sign-in">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="token">Token</label>
  <textarea id="token" name="token" rows="5" required autocomplete="off" spellcheck="false" maxlength="8192"></textarea>
  <button type="submit">Sign in</button>
</form>
<p class="hint">The token stays in an HttpOnly cookie of this console until it expires or you sign out; it is checked again on every request.</p>`,
    flash,
  );
}

/** The inbox filters, as the page was asked for them. */
export interface InboxFilters {
  readonly topic?: string;
  readonly tenant?: string;
  readonly rule?: string;
  readonly drifted?: string;
  /** Seconds ("expiring soon"). */
  readonly expires_within?: string;
}

/** "in 3 h 20 min", "in 45 s", "expired 2 min ago". */
export function countdown(untilIso: string, now: Date): string {
  const ms = Date.parse(untilIso) - now.getTime();
  if (Number.isNaN(ms)) return 'unknown';
  const abs = Math.abs(ms);
  const s = Math.floor(abs / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const text = d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
  return ms >= 0 ? `in ${text}` : `expired ${text} ago`;
}

export function approvalHref(jobId: string, tenant: string): string {
  return `/console/approvals/${encodeURIComponent(jobId)}${queryString({ tenant })}`;
}

/** One inbox row (the script builds the same markup for rows that arrive live). */
export function inboxRow(a: ApprovalSummary, now: Date): SafeHtml {
  return html`<tr id="${`row-${a.tenant}-${a.job_id}`}" data-job-id="${a.job_id}" data-tenant="${a.tenant}">
  <th scope="row"><a href="${approvalHref(a.job_id, a.tenant)}">${a.job_id}</a></th>
  <td data-col="topic">${a.topic}</td>
  <td data-col="tenant">${a.tenant}</td>
  <td data-col="rule">${a.rule_id ?? '(default)'}</td>
  <td data-col="submitter">${a.request.submitted_by}</td>
  <td data-col="votes">${a.approvals} of ${a.required}</td>
  <td data-col="expires"><time datetime="${a.expires_at}" data-countdown>${countdown(a.expires_at, now)}</time></td>
  <td data-col="drift">${a.drifted ? html`<span class="badge badge-warn">drifted</span>` : 'current'}</td>
</tr>`;
}

const EXPIRING_CHOICES: readonly [string, string][] = [
  ['', 'any time'],
  ['900', 'within 15 min'],
  ['3600', 'within 1 h'],
  ['86400', 'within 24 h'],
];

/** `GET /console`: the pending approvals the caller may read, filtered, a page at a time, live. */
export function inboxPage(ctx: PageContext, filters: InboxFilters, items: readonly ApprovalSummary[], next: string | null, flash: Flash | null = null): SafeHtml {
  const select = (name: string, label: string, choices: readonly [string, string][], value: string | undefined) =>
    html`<div class="field"><label for="f-${name}">${label}</label><select id="f-${name}" name="${name}">${choices.map(
      ([v, text]) => html`<option value="${v}"${(value ?? '') === v ? html` selected` : ''}>${text}</option>`,
    )}</select></div>`;
  const text = (name: string, label: string, value: string | undefined, placeholder: string) =>
    html`<div class="field"><label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" value="${value ?? ''}" placeholder="${placeholder}" maxlength="200"></div>`;
  return layout(
    'Inbox',
    ctx,
    html`<h1>Pending approvals</h1>
<form class="filters" method="get" action="/console" aria-label="Filter approvals">
  ${text('topic', 'Topic', filters.topic, 'finance.*')}
  ${text('tenant', 'Tenant', filters.tenant, 'any')}
  ${text('rule', 'Rule', filters.rule, 'any')}
  ${select('drifted', 'Drift', [['', 'any'], ['true', 'drifted only'], ['false', 'current only']], filters.drifted)}
  ${select('expires_within', 'Expiring', EXPIRING_CHOICES, filters.expires_within)}
  <button type="submit">Filter</button>
</form>
<p id="live-status" class="live" data-state="connecting">Live updates: connecting…</p>
<div class="table-wrap">
<table class="approvals">
  <caption class="sr-only">Pending approvals, oldest first</caption>
  <thead><tr><th scope="col">Job</th><th scope="col">Topic</th><th scope="col">Tenant</th><th scope="col">Rule</th><th scope="col">Submitted by</th><th scope="col">Votes</th><th scope="col">Expires</th><th scope="col">Policy</th></tr></thead>
  <tbody id="approvals" data-topic="${filters.topic ?? ''}" data-tenant="${filters.tenant ?? ''}" data-rule="${filters.rule ?? ''}" data-drifted="${filters.drifted ?? ''}" data-expires-within="${filters.expires_within ?? ''}" data-live="${next === null ? 'append' : 'no-append'}">
${items.map((a) => inboxRow(a, ctx.now))}
  </tbody>
</table>
</div>
<p id="empty" class="empty"${items.length > 0 ? html` hidden` : ''}>Nothing waits for you.</p>
${next ? html`<p><a class="next" href="/console${queryString({ ...filters, cursor: next })}">Next page</a></p>` : ''}`,
    flash,
  );
}

function payloadText(request: JobRequest): string {
  const text = JSON.stringify(request.payload ?? null, null, 2) ?? 'null';
  const max = 256 * 1024;
  return text.length > max ? `${text.slice(0, max)}\n… (${text.length - max} more characters; the full request is in GET /api/v1/approvals/:job_id)` : text;
}

/** A short summary of an event's data: its scalar members (and lists of scalars), bounded. Any event type. */
export function eventSummary(data: unknown): string {
  if (data === null || typeof data !== 'object') return '';
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key === 'job_id' || key === 'request' || key === 'bundle') continue;
    let shown: string | null = null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') shown = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) shown = value.join(', ');
    if (shown === null || shown === '') continue;
    parts.push(`${key}: ${shown.length > 120 ? `${shown.slice(0, 120)}…` : shown}`);
    if (parts.length >= 8) break;
  }
  return parts.join(' · ');
}

function policyOf(data: unknown): string | null {
  if (data === null || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  const snapshot = d.policy_snapshot ?? d.equivalent_snapshot;
  return typeof snapshot === 'string' ? snapshot : null;
}

function shortSnapshot(snapshot: string): string {
  return snapshot.startsWith('sha256:') ? `${snapshot.slice(0, 19)}…` : snapshot;
}

/** The job's timeline: every event, whatever its type (types added later show generically). */
export function timeline(events: readonly JobEventView[]): SafeHtml {
  let policy: string | null = null;
  return html`<ol class="timeline" id="timeline">${events.map((e) => {
    const own = policyOf(e.data);
    if (own) policy = own;
    return html`<li class="event" data-type="${e.type}">
  <span class="event-type">${e.type}</span>
  <span class="event-meta">by <strong>${e.metadata?.actor ?? 'unknown'}</strong> at <time datetime="${e.metadata?.at ?? e.recorded_at}">${e.metadata?.at ?? e.recorded_at}</time>${
    policy ? html` under policy <code title="${policy}">${shortSnapshot(policy)}</code>` : ''
  }</span>
  <span class="event-data">${eventSummary(e.data)}</span>
</li>`;
  })}</ol>`;
}

/** `require_human (rule x; 2 reviewers: finance-approver; 1h)`. */
export function outcomeText(o: PolicyOutcome): string {
  const details: string[] = [];
  if (o.rule_id) details.push(`rule ${o.rule_id}`);
  if (o.approval) {
    const a = o.approval;
    details.push(`${a.required} reviewer${a.required === 1 ? '' : 's'}${a.reviewers.length ? `: ${a.reviewers.join(', ')}` : ''}`);
    details.push(`timeout ${Math.round(a.timeout_ms / 60_000)} min`);
  }
  return details.length ? `${o.decision} (${details.join('; ')})` : o.decision;
}

function policyChange(diff: PolicyDiff | null | undefined): SafeHtml {
  if (!diff) return html`<p>The policy this approval is bound to is no longer active, and this instance cannot show the difference.</p>`;
  const list = (label: string, ids: readonly string[]) => (ids.length ? html`<li>${label}: ${ids.join(', ')}</li>` : '');
  return html`<ul class="diff">
  ${diff.default ? html`<li>default: ${diff.default.from} → ${diff.default.to}</li>` : ''}
  ${list('rules added', diff.rules.added)}
  ${list('rules removed', diff.rules.removed)}
  ${diff.rules.changed.map((c) => html`<li>rule ${c.id} changed (${c.fields.join(', ')})</li>`)}
  ${list('rules moved', diff.rules.moved)}
  ${diff.decisions.map((d) => html`<li><strong>this job</strong>: ${outcomeText(d.from)} → ${outcomeText(d.to)}</li>`)}
  ${diff.decisions.length === 0 ? html`<li>this job's outcome is the same under both policies</li>` : ''}
</ul>`;
}

export interface DetailData {
  readonly approval: ApprovalDetail;
  readonly events: readonly JobEventView[];
  /** The rule's reason (PolicyEvaluated). */
  readonly reason: string | null;
  /** Whether this caller may decide (the reviewer role; the server checks again). */
  readonly mayDecide: boolean;
}

/** `GET /console/approvals/:job_id`: the evidence, the forms, the timeline. */
export function detailPage(ctx: PageContext, d: DetailData, flash: Flash | null = null): SafeHtml {
  const a = d.approval;
  const r = a.request;
  const labels = Object.entries(r.labels ?? {});
  const action = (verb: string) => `/console/approvals/${encodeURIComponent(a.job_id)}/${verb}${queryString({ tenant: a.tenant })}`;
  const open = a.state === 'pending' && a.job_state === 'APPROVAL_REQUIRED';
  return layout(
    `Approval ${a.job_id}`,
    ctx,
    html`<p><a href="/console">← Inbox</a></p>
<h1>Approval <code>${a.job_id}</code></h1>
<dl class="facts" id="facts" data-state="${a.state}">
  <dt>State</dt><dd><span class="badge badge-${a.state}" id="approval-state">${a.state}</span> (job ${a.job_state})</dd>
  <dt>Tenant</dt><dd>${a.tenant}</dd>
  <dt>Topic</dt><dd>${a.topic}</dd>
  <dt>Submitted by</dt><dd>${r.submitted_by}</dd>
  <dt>Priority</dt><dd>${r.priority}</dd>
  <dt>Rule</dt><dd>${a.rule_id ?? '(default)'}${d.reason ? html` — ${d.reason}` : ''}</dd>
  <dt>Quorum</dt><dd id="quorum">${quorumLine(a)}</dd>
  <dt>Expires</dt><dd><time datetime="${a.expires_at}" data-countdown>${countdown(a.expires_at, ctx.now)}</time> (${a.expires_at})</dd>
  <dt>Policy</dt><dd><code>${a.policy_snapshot}</code>${a.drifted ? html` <span class="badge badge-warn">drifted</span>` : a.policy_snapshot === a.active_policy_snapshot ? ' (active)' : ' (equivalent to the active policy)'}</dd>
  <dt>Job hash</dt><dd><code>${a.job_hash}</code></dd>
  ${a.rejection_reason ? html`<dt>Rejected</dt><dd>by ${a.rejected_by ?? '?'}: ${a.rejection_reason}</dd>` : ''}
  ${a.approved_by ? html`<dt>Approved by</dt><dd>${a.approved_by.join(', ')}</dd>` : ''}
  ${approvedVersion(a)}
  ${escalationFacts(a)}
</dl>
${a.drifted ? html`<section class="card warn" aria-labelledby="drift-h"><h2 id="drift-h">The policy changed</h2><p>The active policy is <code>${a.active_policy_snapshot}</code>. What changed:</p>${policyChange(a.policy_change)}</section>` : ''}
<section aria-labelledby="req-h"><h2 id="req-h">Request</h2>
${labels.length ? html`<table class="labels"><caption>Labels</caption><tbody>${labels.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody></table>` : html`<p>No labels.</p>`}
<h3>Payload</h3>
<pre class="payload" tabindex="0" aria-label="Payload">${payloadText(r)}</pre>
</section>
${
  open && d.mayDecide
    ? html`<section class="decide" aria-labelledby="decide-h"><h2 id="decide-h">Decide</h2>
<div class="forms">
<form class="card" method="post" action="${action('approve')}" id="approve-form">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <input type="hidden" name="policy_snapshot" value="${a.policy_snapshot}">
  <input type="hidden" name="job_hash" value="${a.job_hash}">
  <label for="approve-reason">Reason (optional)</label>
  <textarea id="approve-reason" name="reason" rows="2" maxlength="2000"></textarea>
  ${onBehalfField('approve-obo')}
  <button type="submit" class="approve">Approve</button>
</form>
<form class="card" method="post" action="${action('reject')}" id="reject-form">
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="reject-reason">Reason (required)</label>
  <textarea id="reject-reason" name="reason" rows="2" maxlength="2000" required></textarea>
  ${onBehalfField('reject-obo')}
  <button type="submit" class="reject">Reject</button>
</form>
</div>
${amendForm(ctx.csrf, a, action('approve'))}
<p class="hint">Approving binds your vote to the policy snapshot and job hash shown above. On behalf of: vote for a reviewer who delegated to you (the vote then names you both).</p>
</section>`
    : ''
}
${amendmentsSection(ctx.csrf, a, open && d.mayDecide, action('approve'))}
<section aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2>${timeline(d.events)}</section>`,
    flash,
  );
}

/** A refusal that is not about one approval (404, 403, CSRF ...). */
export function errorPage(ctx: PageContext, flash: Flash, signInLink: boolean): SafeHtml {
  return layout(
    'Refused',
    ctx,
    html`<h1>Refused</h1>
<p>${signInLink ? html`<a href="/console/sign-in">Sign in</a> · ` : ''}<a href="/console">Back to the inbox</a></p>`,
    flash,
  );
}
