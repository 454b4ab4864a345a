import { SignoffError } from '@signoff/contracts';
import { describe, expect, it } from 'vitest';
import type { ApprovalDetail } from '../get-approval/get-approval.query';
import { amendedRequestOf, diffValue, isRedacted, labelsText, MAX_AMEND_FIELD_CHARS, parseLabels, valueAt } from './console-amend';
import { amendForm, amendmentsSection, approvedVersion, escalationFacts, quorumLine, voterName } from './console-amendments';
import { DELEGATION_ID, delegationBodyOf, delegationsPage, instantOf } from './console-delegations';
import { detailPage } from './console-pages';

const HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> \' `x` &amp;';

function refusal(run: () => unknown): { code: string; errors: { field: string; message: string }[] } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SignoffError);
    const e = error as SignoffError;
    return { code: e.code, errors: e.extensions.errors as { field: string; message: string }[] };
  }
  throw new Error('expected a refusal');
}

describe('the console\'s "approve with changes" form parsing', () => {
  it('reads the payload as JSON and the labels as key=value lines (first = splits, blank lines skipped, CRLF accepted)', () => {
    expect(amendedRequestOf({ amended_payload: '{"amount": 900, "memo": "a=b"}', amended_labels: 'env=production\r\n\n vendor = acme=supplies\n' })).toEqual({
      payload: { amount: 900, memo: 'a=b' },
      labels: { env: 'production', vendor: ' acme=supplies' },
    });
    expect(amendedRequestOf({ amended_payload: 'null' })).toEqual({ payload: null });
    expect(amendedRequestOf({ amended_labels: '' })).toEqual({ labels: {} });
    expect(amendedRequestOf({ amended_labels: '{"env": "staging"}' })).toEqual({ labels: { env: 'staging' } });
    // No amendment field: a plain approve.
    expect(amendedRequestOf({ reason: 'x', csrf: 't' })).toBeUndefined();
    // "Approve this version" sends the whole amended request as JSON.
    expect(amendedRequestOf({ amended_request: '{"payload":{"amount":900},"labels":{"env":"production"}}', amended_payload: 'ignored' })).toEqual({
      payload: { amount: 900 },
      labels: { env: 'production' },
    });
  });

  it('refuses invalid JSON with the field and where it fails, never echoing the input or a stack', () => {
    const bad = refusal(() => amendedRequestOf({ amended_payload: '{\n  "amount": 900,\n  <script>\n}' }));
    expect(bad.code).toBe('invalid_request');
    expect(bad.errors).toEqual([{ field: 'payload', message: 'it is not valid JSON (line 3, column 3)' }]);
    expect(JSON.stringify(bad)).not.toContain('<script>');
    expect(refusal(() => amendedRequestOf({ amended_payload: '   ' })).errors[0]!.message).toContain('empty');
    expect(refusal(() => amendedRequestOf({ amended_payload: '{"a": 1' })).errors[0]).toMatchObject({ field: 'payload', message: expect.stringMatching(/^it is not valid JSON/) });
    expect(refusal(() => amendedRequestOf({ amended_payload: '[1,]' })).errors[0]!.message).toBe('it is not valid JSON (unexpected ])');
    expect(refusal(() => amendedRequestOf({ amended_payload: 'nul' })).errors[0]!.message).toBe('it is not valid JSON (it ends too early)');
    expect(refusal(() => amendedRequestOf({ amended_payload: '{"secret": tru}' })).errors[0]!.message).not.toContain('secret');
    expect(refusal(() => amendedRequestOf({ amended_request: '[1]' })).errors[0]).toEqual({ field: 'amended_request', message: 'it must be a JSON object' });
    expect(refusal(() => amendedRequestOf({ amended_request: 'nope' })).errors[0]!.field).toBe('amended_request');
  });

  it('refuses label lines without =, without a key, repeated, too many; JSON labels must be strings', () => {
    expect(refusal(() => parseLabels('env=production\nvendor')).errors[0]).toEqual({ field: 'labels', message: 'line 2 is not key=value' });
    expect(refusal(() => parseLabels('=x')).errors[0]!.message).toBe('line 1 has no key before =');
    expect(refusal(() => parseLabels('a=1\na=2')).errors[0]!.message).toBe('line 2 repeats the label a');
    expect(refusal(() => parseLabels('a=1\n'.repeat(1001))).errors[0]!.message).toContain('more than 1000 lines');
    expect(refusal(() => parseLabels('{"a": 1}')).errors[0]!.message).toContain('object of strings');
    // __proto__ as a label name is a plain key, not a prototype.
    const labels = parseLabels('__proto__=x');
    expect(Object.keys(labels)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
  });

  it('bounds every field before parsing it (the body limit bounds the form as a whole)', () => {
    const huge = `"${'x'.repeat(MAX_AMEND_FIELD_CHARS)}"`;
    const started = Date.now();
    expect(refusal(() => amendedRequestOf({ amended_payload: huge })).errors[0]!.message).toContain('longer than');
    expect(refusal(() => amendedRequestOf({ amended_labels: huge })).errors[0]!.message).toContain('longer than');
    expect(refusal(() => amendedRequestOf({ amended_request: huge })).errors[0]!.message).toContain('longer than');
    // Deep nesting parses without recursion limits of our own (JSON.parse is iterative) and quickly.
    expect(amendedRequestOf({ amended_payload: `${'['.repeat(10_000)}${']'.repeat(10_000)}` })).toHaveProperty('payload');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('shows labels as lines, or as JSON when a line could not hold them', () => {
    expect(labelsText({ env: 'production', vendor: 'acme' })).toBe('env=production\nvendor=acme');
    expect(labelsText(undefined)).toBe('');
    for (const labels of [{ memo: 'two\nlines' }, { 'a=b': 'x' }, { ' padded': 'x' }] as Record<string, string>[]) expect(parseLabels(labelsText(labels))).toEqual(labels);
    expect(parseLabels(labelsText({ env: 'production', x: ' spaced ' }))).toEqual({ env: 'production', x: ' spaced ' });
  });

  it('finds redacted parts, values at changed paths, and prints diff values bounded', () => {
    expect(isRedacted({ payload: { card: '[REDACTED]' }, labels: {} })).toBe(true);
    expect(isRedacted({ payload: [{ a: 1 }], labels: { ssn: '[REDACTED]' } })).toBe(true);
    expect(isRedacted({ payload: { a: [1, 'x'] }, labels: { env: 'p' } })).toBe(false);
    const request = { payload: { amount: 900, items: [{ sku: 'a' }, { sku: 'b' }] }, labels: { env: 'production' } };
    expect(valueAt(request, 'payload.amount')).toBe(900);
    expect(valueAt(request, 'payload.items[1].sku')).toBe('b');
    expect(valueAt(request, 'labels.env')).toBe('production');
    expect(diffValue(valueAt(request, 'payload.items[7]'))).toBe('(absent)');
    expect(diffValue(valueAt(request, 'payload.amount.x'))).toBe('(absent)');
    expect(diffValue(valueAt(request, 'payload.__proto__'))).toBe('(absent)');
    expect(diffValue(valueAt(request, '...and 3 more'))).toBe('(absent)');
    expect(diffValue({ a: 'x'.repeat(5000) })).toMatch(/… \(\d+ more characters\)$/);
    expect(diffValue(null)).toBe('null');
  });
});

describe('the console templates of amendments, delegation and escalation', () => {
  const hash = (c: string) => `sha256:${c.repeat(64)}`;
  const original = { topic: 'finance.payment.execute', priority: 'high', tenant: 'default', submitted_by: 'agent-7', labels: { env: 'production' }, payload: { amount: 1250, memo: HOSTILE } };
  const approval = {
    job_id: 'job-1',
    approval_ref: 'r',
    state: 'pending',
    job_state: 'APPROVAL_REQUIRED',
    topic: original.topic,
    tenant: 'default',
    rule_id: 'payments',
    policy_snapshot: hash('a'),
    active_policy_snapshot: hash('a'),
    job_hash: hash('b'),
    drifted: false,
    required: 2,
    reviewers: [],
    approvals: 1,
    voters: ['alice'],
    cast_for: [{ reviewer: 'alice', cast_by: 'bob' }],
    requested_at: '2026-01-01T00:00:00Z',
    expires_at: '2026-01-01T01:00:00Z',
    request: original,
    amendments: [
      {
        job_hash: hash('c'),
        changed_paths: ['payload.amount', 'payload.memo', `payload.${HOSTILE}`],
        proposed_by: HOSTILE,
        proposed_at: '2026-01-01T00:10:00Z',
        decision: 'require_human',
        rule_id: HOSTILE,
        approvals: 1,
        voters: [HOSTILE],
        request: { ...original, payload: { amount: 900, memo: `${HOSTILE}</textarea><script>x</script>`, [HOSTILE]: HOSTILE } },
      },
    ],
    escalations: [
      { step: 1, kind: 'reminder', at: '2026-01-01T00:20:00Z' },
      { step: 2, kind: 'escalation', at: '2026-01-01T00:40:00Z' },
    ],
    added_reviewers: ['finance-lead<b>'],
  } as unknown as ApprovalDetail;
  const ctx = { principal: { sub: 'rita', roles: new Set(['reviewer' as const]), topics: null, tenants: null }, csrf: 'tok', now: new Date('2026-01-01T00:30:00Z') };

  it('renders hostile amended payloads, paths, names and diffs inertly, in the form, the diff and the hidden field', () => {
    const page = detailPage(ctx, { approval, events: [], reason: null, mayDecide: true }).html;
    expect(page.match(/<script/g)).toHaveLength(1); // the layout's own
    expect(page).not.toMatch(/<img[\s>]/);
    expect(page).not.toContain('</textarea><script>');
    // The textarea holds the escaped JSON; the hidden field's value is the escaped JSON of the version.
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const hiddenValue = /name="amended_request" value="([^"]*)"/.exec(page)![1]!;
    const decoded = hiddenValue.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#96;/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    expect(JSON.parse(decoded)).toEqual({ payload: approval.amendments![0]!.request.payload, labels: { env: 'production' } });
    // The diff: original vs this version for each changed path.
    expect(page).toContain('<td class="before"><code>1250</code></td><td class="after"><code>900</code></td>');
    expect(page).toContain('Approve with changes');
    expect(page).toContain('Approve this version');
    expect(page.match(/name="on_behalf_of"/g)).toHaveLength(4); // approve, reject, edit, the version
  });

  it('names delegated votes "bob for alice", says versions do not add up, shows the approved version and the escalation steps', () => {
    expect(voterName('alice', approval.cast_for)).toBe('bob for alice');
    expect(voterName('carol', approval.cast_for)).toBe('carol');
    const quorum = quorumLine(approval).html;
    expect(quorum).toContain('1 of 2 (voted: bob for alice)');
    expect(quorum).toContain('Votes for different versions do not add up');
    expect(quorumLine({ ...approval, amendments: undefined }).html).not.toContain('do not add up');
    const section = amendmentsSection('tok', approval, true, '/x').html;
    expect(section).toContain('Votes: <strong>1 of 2</strong>');
    expect(section).toContain('Version 2');
    expect(amendmentsSection('tok', approval, false, '/x').html).not.toContain('Approve this version');
    expect(approvedVersion(approval).html).toBe('');
    const granted = approvedVersion({ ...approval, state: 'approved', approved_job_hash: hash('c') }).html;
    expect(granted).toContain('the edited version 2, not the original');
    expect(granted).toContain(hash('c'));
    const steps = escalationFacts(approval).html;
    expect(steps).toContain('step 1: reminder sent');
    expect(steps).toContain('step 2: <span class="badge badge-warn">escalated</span>');
    expect(steps).toContain('finance-lead&lt;b&gt;');
    expect(escalationFacts({ ...approval, escalations: undefined }).html).toBe('');
  });

  it('offers no edit and no version vote for a request redacted for reviewers', () => {
    const redacted = { ...approval, request: { ...original, payload: { amount: 1250, card: '[REDACTED]' } } } as unknown as ApprovalDetail;
    const form = amendForm('tok', redacted, '/x').html;
    expect(form).toContain('redacted for reviewers');
    expect(form).not.toContain('amend-form');
    const redactedVersion = { ...approval, amendments: [{ ...approval.amendments![0]!, request: { ...original, labels: { ssn: '[REDACTED]' } } }] } as unknown as ApprovalDetail;
    expect(amendmentsSection('tok', redactedVersion, true, '/x').html).not.toContain('Approve this version');
  });
});

describe('the console delegations page', () => {
  it('reads the delegate form (plain dates as midnight UTC, roles comma separated) and renders hostile delegations inertly', () => {
    expect(instantOf('2027-01-04')).toBe('2027-01-04T00:00:00Z');
    expect(instantOf(' 2027-01-04T08:00:00+01:00 ')).toBe('2027-01-04T08:00:00+01:00');
    expect(instantOf('  ')).toBeUndefined();
    expect(delegationBodyOf({ delegate: ' bob ', ends_at: '2027-01-04', reason: ' away ', roles: 'reviewer, ,finance-approver' })).toEqual({
      delegate: 'bob',
      ends_at: '2027-01-04T00:00:00Z',
      reason: 'away',
      roles: ['reviewer', 'finance-approver'],
    });
    expect(delegationBodyOf({})).toEqual({ delegate: '', ends_at: '', reason: '' });
    expect(() => delegationBodyOf({ roles: 'r,'.repeat(51) })).toThrow(SignoffError);
    const ctx = { principal: { sub: HOSTILE, roles: new Set(['reviewer' as const]), topics: null, tenants: null }, csrf: 'tok', now: new Date() };
    const id = '0a0a0a0a-0000-4000-8000-000000000000';
    const page = delegationsPage(
      ctx,
      [{ delegation_id: id, delegator: HOSTILE, delegate: HOSTILE, starts_at: HOSTILE, ends_at: HOSTILE, reason: HOSTILE, roles: null, tenants: null, granted_at: 'x', revoked: null, status: 'active' }] as never,
      false,
      true,
    ).html;
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).not.toMatch(/<img[\s>]/);
    expect(page).toContain(`action="/console/delegations/${id}/revoke"`); // mine and active: revocable
    expect(DELEGATION_ID.test(id)).toBe(true);
    expect(DELEGATION_ID.test('../x')).toBe(false);
  });
});
