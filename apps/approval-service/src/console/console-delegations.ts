import { SignoffError } from '@signoff/contracts';
import type { DelegationView } from '../delegation/shared/delegations.projection';
import { html, SafeHtml } from './console-html';
import { Flash, layout, PageContext } from './console-pages';

/*
 * `/console/delegations`: my delegations (given and received) and a form to delegate or revoke,
 * over the API's GrantDelegationCommand / RevokeDelegationCommand / ListDelegationsQuery.
 */

/** What the reviewer reads after a delegation form (`?done=`). */
export const DELEGATION_OUTCOMES: Readonly<Record<string, string>> = {
  delegated: 'Delegated. The delegate may now approve or reject on your behalf during that period.',
  revoked: 'Revoked. The delegate can no longer act for you.',
  already_revoked: 'This delegation was already revoked; your click changed nothing.',
};

/** A delegation id as the API mints them; anything else is not_found before a command is sent. */
export const DELEGATION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An instant from the form: an ISO-8601 instant with an offset as the API takes it, or a plain
 * date `YYYY-MM-DD` (midnight UTC). Empty: undefined. Anything else goes to the API unchanged,
 * which refuses it with the field named.
 */
export function instantOf(value: string | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
}

/** The body of GrantDelegationCommand from the delegate form (the DTO validates it). */
export function delegationBodyOf(form: Readonly<Record<string, string>>): Record<string, unknown> {
  const startsAt = instantOf(form.starts_at);
  const roles = (form.roles ?? '').split(',').map((r) => r.trim()).filter(Boolean);
  if (roles.length > 50) throw new SignoffError('invalid_request', 'the delegation is invalid', { errors: [{ field: 'roles', message: 'at most 50 roles' }] });
  return {
    delegate: (form.delegate ?? '').trim(),
    ends_at: instantOf(form.ends_at) ?? '',
    reason: (form.reason ?? '').trim(),
    ...(startsAt ? { starts_at: startsAt } : {}),
    ...(roles.length ? { roles } : {}),
  };
}

function row(ctx: PageContext, d: DelegationView): SafeHtml {
  const mine = ctx.principal !== null && d.delegator === ctx.principal.sub;
  const open = d.status === 'active' || d.status === 'scheduled';
  return html`<tr id="delegation-${d.delegation_id}" data-status="${d.status}">
  <td>${d.delegator}</td>
  <td>${d.delegate}</td>
  <td><time datetime="${d.starts_at}">${d.starts_at}</time></td>
  <td><time datetime="${d.ends_at}">${d.ends_at}</time></td>
  <td><span class="badge badge-${d.status === 'active' ? 'approved' : d.status === 'revoked' ? 'rejected' : 'pending'}">${d.status}</span></td>
  <td>${d.reason}${d.revoked ? html`<br><span class="hint">revoked by ${d.revoked.by}${d.revoked.reason ? `: ${d.revoked.reason}` : ''}</span>` : ''}</td>
  <td>${
    mine && open
      ? html`<form method="post" action="/console/delegations/${d.delegation_id}/revoke" class="inline">
    <input type="hidden" name="csrf" value="${ctx.csrf}">
    <label class="sr-only" for="revoke-reason-${d.delegation_id}">Why revoke (optional)</label>
    <input id="revoke-reason-${d.delegation_id}" name="reason" maxlength="2000" placeholder="why (optional)">
    <button type="submit">Revoke</button>
  </form>`
      : ''
  }</td>
</tr>`;
}

/** `GET /console/delegations`. */
export function delegationsPage(ctx: PageContext, items: readonly DelegationView[], truncated: boolean, mayDelegate: boolean, flash: Flash | null = null): SafeHtml {
  return layout(
    'Delegations',
    ctx,
    html`<p><a href="/console">← Inbox</a></p>
<h1>Delegations</h1>
<p class="hint">Who may approve or reject for whom. A delegate votes with "On behalf of" on an approval; the vote then names both.</p>
<div class="table-wrap">
<table class="delegations" id="delegations">
  <caption class="sr-only">Delegations you gave and received, newest first</caption>
  <thead><tr><th scope="col">Delegator</th><th scope="col">Delegate</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
  <tbody>${items.map((d) => row(ctx, d))}</tbody>
</table>
</div>
${items.length === 0 ? html`<p class="empty" id="no-delegations">No delegations.</p>` : ''}
${truncated ? html`<p class="hint">Only the newest delegations are shown.</p>` : ''}
${
  mayDelegate
    ? html`<form class="card" method="post" action="/console/delegations" id="delegate-form">
  <h2>Delegate my authority</h2>
  <input type="hidden" name="csrf" value="${ctx.csrf}">
  <label for="delegate">Delegate (their sign-in name)</label>
  <input id="delegate" name="delegate" required maxlength="200" autocomplete="off" spellcheck="false">
  <label for="starts_at">From (optional; default now)</label>
  <input id="starts_at" name="starts_at" maxlength="40" placeholder="2026-12-24 or 2026-12-24T08:00:00Z">
  <label for="ends_at">Until</label>
  <input id="ends_at" name="ends_at" required maxlength="40" placeholder="2027-01-04 or 2027-01-04T08:00:00Z">
  <label for="roles">Only these roles (optional, comma separated; default all of mine)</label>
  <input id="roles" name="roles" maxlength="2000" autocomplete="off">
  <label for="delegation-reason">Reason</label>
  <textarea id="delegation-reason" name="reason" rows="2" maxlength="2000" required></textarea>
  <button type="submit">Delegate</button>
</form>`
    : ''
}`,
    flash,
  );
}
