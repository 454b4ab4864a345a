import { ERROR_CODES, ErrorCode } from '@signoff/contracts';

/** Refusals the console itself answers (not API codes): sign-in and CSRF. */
export const CONSOLE_CODES = {
  csrf_token_invalid: 403,
  cross_site_request: 403,
  session_expired: 401,
  console_role_required: 403,
} as const;
export type ConsoleCode = keyof typeof CONSOLE_CODES;

/**
 * What a reviewer reads for each refusal code of the API (and the console's own): one sentence
 * that says what happened and what to do. Never the error's text, a stack or JSON.
 */
export const REFUSAL_MESSAGES: Readonly<Record<ErrorCode | ConsoleCode, string>> = {
  unauthenticated: 'You are not signed in, or your token has expired. Sign in again.',
  forbidden: 'You are not allowed to do this: your token does not grant the reviewer role for this topic, or the rule asks for other reviewer roles.',
  not_found: 'There is no such approval, or it is not one you may see.',
  invalid_request: 'The form was not filled in correctly.',
  reserved_label: 'The request uses a label that is reserved for Signoff.',
  invalid_policy: 'The policy is not valid.',
  invalid_last_event_id: 'The live updates lost their place; reload the page.',
  payload_too_large: 'What was sent is too large.',
  request_timeout: 'The request took too long to arrive; try again.',
  uri_too_long: 'The address is too long.',
  unsupported_media_type: 'The form was sent in a format the console does not read.',
  headers_too_large: 'The request headers are too large (too many or too big cookies?).',
  policy_denied: 'The policy denies this job.',
  throttled: 'Too many requests for now; try again shortly.',
  policy_unavailable: 'No policy can be read right now; try again in a moment.',
  store_unavailable: 'The event store cannot be reached right now; nothing was recorded. Try again in a moment.',
  job_request_changed: 'The job request changed since the approval was requested, so this approval no longer matches what would run. Nothing was recorded.',
  snapshot_changed:
    'The policy changed since this approval was requested: under the active policy this approval no longer holds. Nothing was recorded; review the change below.',
  stale_review:
    'What you reviewed is not what this approval is bound to any more (its policy snapshot or job hash changed under the page). Nothing was recorded; the evidence below is reloaded: review it again.',
  already_rejected: 'This job was already rejected; it cannot be approved.',
  already_approved: 'This job was already approved; it cannot be rejected.',
  expired: 'This approval has expired; nothing can be decided any more.',
  invalidated: 'This approval was invalidated (its policy or request no longer holds); nothing can be decided any more.',
  not_awaiting_approval: 'This job is not waiting for an approval.',
  self_approval_forbidden: 'You submitted this job, so you may not decide on it yourself.',
  not_ambiguous: 'This job has no unknown outcome to resolve.',
  not_dispatched: 'This job was never dispatched.',
  busy: 'Too many decisions on this job at once; nothing was recorded. Try again in a moment.',
  auth_unavailable: 'Tokens cannot be checked right now (the identity provider is unreachable); try again shortly.',
  slack_signature_missing: 'The request is not signed.',
  slack_signature_invalid: 'The request signature is not valid.',
  slack_timestamp_stale: 'The request is too old.',
  slack_payload_invalid: 'The request is not valid.',
  slack_payload_too_large: 'The request is too large.',
  invalid_delegation: 'This delegation is not valid (check its period, delegate and roles).',
  delegation_overlaps: 'You already delegate for part of this period; revoke that delegation first.',
  too_many_delegations: 'You have too many open delegations; revoke one first.',
  delegation_not_found: 'No active delegation lets you act for that reviewer now.',
  delegation_chain_too_long: 'The delegation passes through too many people to be used.',
  amendment_field_fixed: 'An edit may change the payload and labels only; the topic, priority, tenant, submitter and job id stay as submitted.',
  amendment_denied: 'The active policy denies the edited request, so it cannot be approved. Nothing was recorded.',
  amendment_needs_new_approval: 'The edited request needs a stricter approval than this one (more reviewers or other roles): submit it as a new job. Nothing was recorded.',
  too_many_amendments: 'This approval already holds the most edited versions it keeps; approve one of them, or reject and have the job submitted anew.',
  invalid_event_id: 'That event id is not a UUID.',
  invalid_tree_size: 'That tree size is not one the audit log can answer for.',
  invalid_audit_filter: 'One of the audit filters cannot be read.',
  invalid_cursor: 'That page link is no longer valid; start from the first page.',
  audit_unavailable: 'The audit log is not kept by this deployment.',
  not_yet_logged: 'The audit log has not recorded this yet; try again in a moment.',
  no_decision: 'This job has no decision yet.',
  internal: 'Something went wrong on our side; nothing is lost. Try again, and tell an operator if it persists.',
  csrf_token_invalid: 'This form has expired or did not come from this console (its security token does not match your session). Reload the page and try again.',
  cross_site_request: 'This request came from another site, so it was refused. Use the console itself.',
  session_expired: 'Your session has ended. Sign in again.',
  console_role_required: 'The console is for reviewers, admins and auditors; this token has none of those roles.',
};

/** What the reviewer reads for a successful decision (the answer's `status`). */
export const OUTCOME_MESSAGES: Readonly<Record<string, string>> = {
  approved: 'Approved. The job is on its way to dispatch.',
  approval_recorded: 'Your approval is recorded; the rule needs more reviewers before the job runs.',
  already_approved: 'This job was already approved; your click changed nothing.',
  rejected: 'Rejected. The job will not run.',
  already_rejected: 'This job was already rejected; your click changed nothing.',
};

/** The sentence of a refusal code; unknown codes (a newer server) get a generic sentence, never the raw text. */
export function refusalMessage(code: string): string {
  return Object.hasOwn(REFUSAL_MESSAGES, code) ? REFUSAL_MESSAGES[code as ErrorCode] : 'The request was refused. Reload the page and try again.';
}

/** The HTTP status of a console or API code. */
export function statusOf(code: string): number {
  if (Object.hasOwn(CONSOLE_CODES, code)) return CONSOLE_CODES[code as ConsoleCode];
  if (Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code as ErrorCode];
  return 500;
}
