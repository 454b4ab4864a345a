import type { ApprovalAmendmentDetail, ApprovalDetail } from '../get-approval/get-approval.query';
import { AMEND_FIELDS, diffValue, isRedacted, labelsText, MAX_AMEND_FIELD_CHARS, valueAt } from './console-amend';
import { html, SafeHtml } from './console-html';

/*
 * The detail page's parts for edit before approve, delegation and escalation: the "Approve with
 * changes" form, the amendments with their diffs and votes, who voted for whom, the escalation
 * steps. Pure templates over GetApproval's answer; every value escaped by `html`.
 */

/** The hidden fields every approve form carries: the session's CSRF token and what the page showed. */
function reviewed(csrf: string, a: ApprovalDetail): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="policy_snapshot" value="${a.policy_snapshot}">
  <input type="hidden" name="job_hash" value="${a.job_hash}">`;
}

/** The optional "on behalf of" field of a decision form (`on_behalf_of`: a delegator's sub). */
export function onBehalfField(id: string): SafeHtml {
  return html`<label for="${id}">On behalf of (optional)</label>
  <input id="${id}" name="on_behalf_of" maxlength="200" autocomplete="off" spellcheck="false" placeholder="the reviewer who delegated to you">`;
}

/** A voter as the page names it: `bob for alice` when the vote was cast under a delegation. */
export function voterName(reviewer: string, castFor: ApprovalDetail['cast_for']): string {
  const cast = castFor?.find((c) => c.reviewer === reviewer);
  return cast ? `${cast.cast_by} for ${reviewer}` : reviewer;
}

function votersText(voters: readonly string[], castFor: ApprovalDetail['cast_for']): string {
  return voters.map((v) => voterName(v, castFor)).join(', ');
}

/** The quorum line: the original's votes, who cast them; with amendments, that versions do not add up. */
export function quorumLine(a: ApprovalDetail): SafeHtml {
  const versions = a.amendments?.length ?? 0;
  return html`${a.approvals} of ${a.required}${a.voters.length ? html` (voted: ${votersText(a.voters, a.cast_for)})` : ''}${
    a.reviewers.length ? html`; reviewer roles: ${a.reviewers.join(', ')}` : ''
  }${
    versions
      ? html`<br><span class="hint" id="quorum-versions">These are the votes for the original request. Votes for different versions do not add up: a version is approved when it alone has ${a.required} of ${a.required}.</span>`
      : ''
  }`;
}

/** Which version the grant approved, once an amendment was granted. */
export function approvedVersion(a: ApprovalDetail): SafeHtml {
  if (!a.approved_job_hash) return html``;
  const index = a.amendments?.findIndex((m) => m.job_hash === a.approved_job_hash) ?? -1;
  return html`<dt>Approved version</dt><dd id="approved-version">${index >= 0 ? `the edited version ${index + 2}` : 'an edited version'}, not the original: <code>${a.approved_job_hash}</code>. The job runs as edited.</dd>`;
}

/** The escalation steps fired (reminders, escalations) and the reviewer roles an escalation added. */
export function escalationFacts(a: ApprovalDetail): SafeHtml {
  if (!a.escalations?.length) return html``;
  return html`<dt>Escalation</dt><dd id="escalations"><ul class="plain">${a.escalations.map(
    (e) => html`<li>step ${e.step}: ${e.kind === 'escalation' ? html`<span class="badge badge-warn">escalated</span>` : 'reminder sent'} at <time datetime="${e.at}">${e.at}</time></li>`,
  )}</ul>${a.added_reviewers?.length ? html`<p>Reviewer roles added by the escalation: ${a.added_reviewers.join(', ')}</p>` : ''}</dd>`;
}

/** The pretty JSON the edit form starts from, or null when it is too big for a form field. */
function payloadEditText(a: ApprovalDetail): string | null {
  const text = JSON.stringify(a.request.payload ?? null, null, 2) ?? 'null';
  return text.length > MAX_AMEND_FIELD_CHARS / 2 ? null : text;
}

/**
 * "Approve with changes": the payload as JSON and the labels as lines, prefilled with the request,
 * inside a closed `<details>` so the plain Approve stays the first choice. Not offered when the
 * request is redacted for readers (what is shown is not what would be sent back).
 */
export function amendForm(csrf: string, a: ApprovalDetail, action: string): SafeHtml {
  const payload = payloadEditText(a);
  if (isRedacted(a.request) || payload === null) {
    return html`<p class="hint" id="amend-unavailable">Editing is not offered here: ${
      payload === null ? 'the payload is too large for a form' : 'parts of this request are redacted for reviewers'
    }. Approve or reject it as submitted, or approve an edited request through the API.</p>`;
  }
  return html`<details class="card amend" id="amend">
<summary>Edit the request first</summary>
<form method="post" action="${action}" id="amend-form">
  ${reviewed(csrf, a)}
  <p class="hint">Change the payload or the labels; the topic, priority, tenant and submitter stay as submitted. The edited request gets its own job hash, the active policy evaluates it, and it needs its own quorum: votes for the original do not count for it.</p>
  <label for="amend-payload">Payload (JSON)</label>
  <textarea id="amend-payload" name="${AMEND_FIELDS.payload}" rows="12" spellcheck="false" autocomplete="off">${payload}</textarea>
  <label for="amend-labels">Labels (one key=value per line)</label>
  <textarea id="amend-labels" name="${AMEND_FIELDS.labels}" rows="4" spellcheck="false" autocomplete="off">${labelsText(a.request.labels)}</textarea>
  <label for="amend-reason">Why the change (optional)</label>
  <textarea id="amend-reason" name="reason" rows="2" maxlength="2000"></textarea>
  ${onBehalfField('amend-obo')}
  <button type="submit" class="approve">Approve with changes</button>
</form>
</details>`;
}

function diffTable(original: ApprovalDetail['request'], amendment: ApprovalAmendmentDetail): SafeHtml {
  const rows = amendment.changed_paths.map((path) => {
    const before = valueAt(original, path);
    const after = valueAt(amendment.request, path);
    const known = diffValue(before) !== '(absent)' || diffValue(after) !== '(absent)';
    return html`<tr><th scope="row"><code>${path}</code></th>${
      known ? html`<td class="before"><code>${diffValue(before)}</code></td><td class="after"><code>${diffValue(after)}</code></td>` : html`<td colspan="2">see the requests</td>`
    }</tr>`;
  });
  return html`<table class="diff-table"><caption class="sr-only">What this version changes</caption><thead><tr><th scope="col">Path</th><th scope="col">Original</th><th scope="col">This version</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The amendments (edited versions) with who proposed them, when, what they change (original vs
 * amended value of each changed path), their votes, and while the approval is open an
 * "Approve this version" button that sends the same amended request again.
 */
export function amendmentsSection(csrf: string, a: ApprovalDetail, open: boolean, action: string): SafeHtml {
  const list = a.amendments ?? [];
  if (list.length === 0) return html``;
  return html`<section aria-labelledby="amend-h" id="amendments"><h2 id="amend-h">Edited versions</h2>
<p class="hint">Version 1 is the request as submitted (${a.approvals} of ${a.required}). Each edited version counts its own votes; they never add up.</p>
<ol class="amendments" start="2">${list.map((m, i) => {
    const granted = a.approved_job_hash === m.job_hash;
    const redacted = isRedacted(m.request);
    return html`<li class="card amendment" data-job-hash="${m.job_hash}" id="amendment-${i + 2}">
  <h3>Version ${i + 2}${granted ? html` <span class="badge badge-approved">approved</span>` : ''}</h3>
  <p>Proposed by <strong>${m.proposed_by}</strong> at <time datetime="${m.proposed_at}">${m.proposed_at}</time>; the active policy decided ${m.decision}${m.rule_id ? ` (rule ${m.rule_id})` : ''}. Job hash <code>${m.job_hash}</code>.</p>
  <p class="votes">Votes: <strong>${m.approvals} of ${a.required}</strong>${m.voters.length ? html` (voted: ${votersText(m.voters, a.cast_for)})` : ''}</p>
  ${diffTable(a.request, m)}
  ${
    open
      ? redacted
        ? html`<p class="hint">Parts of this version are redacted for reviewers, so the console cannot send it back; vote for it through the API.</p>`
        : html`<form method="post" action="${action}" class="vote-version">
    ${reviewed(csrf, a)}
    <input type="hidden" name="${AMEND_FIELDS.request}" value="${JSON.stringify({ payload: m.request.payload ?? null, labels: m.request.labels ?? {} })}">
    ${onBehalfField(`amend-obo-${i + 2}`)}
    <button type="submit" class="approve">Approve this version</button>
  </form>`
      : ''
  }
</li>`;
  })}</ol>
</section>`;
}
