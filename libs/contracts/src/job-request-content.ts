import { SignoffError } from './errors';
import { isReservedLabel } from './labels';
import { escapeUnsafeText } from './text-safety';
import { FieldError, nestsDeeperThan } from './validation';

/*
 * The checks of a job request's free-form content (`labels`, `payload`) beyond its DTO, shared by
 * every path that makes a request: `POST /jobs` and `signoff.jobs.requested` (the policy service's
 * SubmitJobHandler) and an amended request (`amended_request` of `POST /approvals/:job_id/approve`).
 */

/** A label name: 1-63 characters of letters, digits, `. _ - /`, starting with a letter or digit. */
export const LABEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/]{0,62}$/;
export const MAX_LABELS = 64;
export const MAX_LABEL_VALUE = 256;
/** Deeper payloads are refused with 400 before anything walks them recursively. */
export const MAX_PAYLOAD_DEPTH = 32;

/** What {@link jobRequestContentErrors} found: per-field errors and the reserved label names (escaped for display). */
export interface JobRequestContentErrors {
  readonly errors: FieldError[];
  readonly reserved: string[];
}

/**
 * The errors of a request's `labels` and `payload` (fields named under `prefix`, e.g.
 * `amended_request.`): at most {@link MAX_LABELS} labels, names {@link LABEL_NAME}, string values
 * of at most {@link MAX_LABEL_VALUE} characters, a payload at most {@link MAX_PAYLOAD_DEPTH}
 * levels deep, and the reserved names (`approval_*`, `signoff.*`, any case or Unicode form)
 * listed apart so the caller answers them `reserved_label`. A `labels` that is not an object is
 * left to the DTO (`@IsObject`).
 */
export function jobRequestContentErrors(raw: { readonly labels?: unknown; readonly payload?: unknown }, prefix = ''): JobRequestContentErrors {
  const errors: FieldError[] = [];
  const reserved: string[] = [];
  const labels = raw.labels;
  if (labels !== undefined && labels !== null && typeof labels === 'object' && !Array.isArray(labels)) {
    const entries = Object.entries(labels as Record<string, unknown>);
    if (entries.length > MAX_LABELS) errors.push({ field: `${prefix}labels`, message: `at most ${MAX_LABELS} labels` });
    for (const [name, value] of entries) {
      const shown = escapeUnsafeText(name);
      // Reserved whatever the case or Unicode form (`Approval_granted`, full-width letters).
      if (isReservedLabel(name)) reserved.push(shown);
      else if (!LABEL_NAME.test(name)) errors.push({ field: `${prefix}labels.${shown}`, message: 'label names are 1-63 characters of letters, digits, . _ - /' });
      if (typeof value !== 'string') errors.push({ field: `${prefix}labels.${shown}`, message: 'label values must be strings' });
      else if (value.length > MAX_LABEL_VALUE) errors.push({ field: `${prefix}labels.${shown}`, message: `label values are at most ${MAX_LABEL_VALUE} characters` });
    }
  }
  if (nestsDeeperThan(raw.payload, MAX_PAYLOAD_DEPTH)) errors.push({ field: `${prefix}payload`, message: `payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels` });
  return { errors, reserved };
}

/** The 400 `reserved_label` for reserved names found by {@link jobRequestContentErrors}. */
export function reservedLabelError(reserved: readonly string[]): SignoffError {
  return new SignoffError('reserved_label', `label names approval_* and signoff.* are reserved: ${reserved.join(', ')}`, { labels: reserved });
}

/** Request fields an amendment may not change: the job's identity and routing (`payload` and `labels` may change). */
export const AMENDMENT_FIXED_REQUEST_FIELDS = ['job_id', 'topic', 'priority', 'tenant', 'submitted_by'] as const;
export type AmendmentFixedField = (typeof AMENDMENT_FIXED_REQUEST_FIELDS)[number];

/**
 * An `amended_request` as the reviewer sent it, checked: what it changes (`payload` when the
 * member is present, even `null`; `labels`, which replace the original's whole set) and the fixed
 * fields it repeats (allowed only when equal to the original's; the caller compares them).
 */
export interface AmendedRequestInput {
  readonly changes: { readonly payload?: unknown; readonly labels?: Readonly<Record<string, string>> };
  readonly fixed: Readonly<Partial<Record<AmendmentFixedField, unknown>>>;
}

/**
 * Checks an `amended_request` member (already text-safe: it went through `validateMessage` with
 * the rest of the body): a JSON object of `payload`, `labels` and the fixed fields only, with the
 * content checks of `POST /jobs` ({@link jobRequestContentErrors}). Throws 400 `invalid_request`
 * (per-field `errors`) or 400 `reserved_label`.
 */
export function parseAmendedRequest(raw: unknown): AmendedRequestInput {
  const field = 'amended_request';
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SignoffError('invalid_request', 'the approval is invalid', { errors: [{ field, message: 'amended_request must be a JSON object' }] });
  }
  const body = raw as Record<string, unknown>;
  const errors: FieldError[] = [];
  const fixed: Partial<Record<AmendmentFixedField, unknown>> = {};
  for (const key of Object.keys(body)) {
    if ((AMENDMENT_FIXED_REQUEST_FIELDS as readonly string[]).includes(key)) fixed[key as AmendmentFixedField] = body[key];
    else if (key !== 'payload' && key !== 'labels') errors.push({ field: `${field}.${escapeUnsafeText(key)}`, message: `property ${escapeUnsafeText(key)} should not exist` });
  }
  const hasLabels = Object.prototype.hasOwnProperty.call(body, 'labels');
  const hasPayload = Object.prototype.hasOwnProperty.call(body, 'payload');
  if (hasLabels && (body.labels === null || typeof body.labels !== 'object' || Array.isArray(body.labels))) {
    errors.push({ field: `${field}.labels`, message: 'labels must be an object of strings' });
  }
  if (!hasLabels && !hasPayload) errors.push({ field, message: 'amended_request must change payload or labels' });
  const content = jobRequestContentErrors(body, `${field}.`);
  if (content.reserved.length > 0) throw reservedLabelError(content.reserved);
  errors.push(...content.errors);
  if (errors.length > 0) throw new SignoffError('invalid_request', 'the approval is invalid', { errors });
  return {
    changes: {
      ...(hasPayload ? { payload: body.payload } : {}),
      ...(hasLabels ? { labels: { ...(body.labels as Record<string, string>) } } : {}),
    },
    fixed,
  };
}
