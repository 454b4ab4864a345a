import type { JobRequest } from '@signoff/contracts';
import { SignoffError } from '@signoff/contracts';
import { REDACTED } from '@signoff/observability';

/*
 * "Approve with changes" (edit before approve) as the console's forms carry it: the payload as
 * JSON and the labels as `key=value` lines (or a JSON object) from the edit form, or the whole
 * `amended_request` as JSON from an amendment's "Approve this version" button. The result is the
 * `amended_request` member of the ApproveCommand; the API's own checks (content, fixed fields,
 * policy) come after, in the handler.
 */

/** Form fields of the edit form and of the "Approve this version" buttons. */
export const AMEND_FIELDS = { payload: 'amended_payload', labels: 'amended_labels', request: 'amended_request' } as const;

/**
 * The most characters one amendment field may hold (the app's 1 MiB body limit refuses bigger
 * bodies before this; the check keeps the parser bounded whatever the limit is configured to).
 */
export const MAX_AMEND_FIELD_CHARS = 1024 * 1024;

/** The most label lines the edit form reads (the API bounds labels further). */
export const MAX_LABEL_LINES = 1000;

type Form = Readonly<Record<string, string>>;

function invalid(field: string, message: string): SignoffError {
  return new SignoffError('invalid_request', 'the approval is invalid', { errors: [{ field, message }] });
}

/**
 * Where a JSON.parse error happened, as "line 3, column 7", or the character it did not expect, or
 * that the text ends too early: never the input itself, nor V8's text.
 */
function whereJsonFails(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const position = /position (\d+)/.exec(message);
  if (!position) {
    if (/end of JSON input/.test(message)) return 'it is not valid JSON (it ends too early)';
    const token = /^Unexpected token '(.)'/u.exec(message);
    return token ? `it is not valid JSON (unexpected ${token[1]!.trim() ? token[1] : 'space'})` : 'it is not valid JSON';
  }
  const at = Math.min(Number(position[1]), text.length);
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  return `it is not valid JSON (line ${line}, column ${column})`;
}

function parseJson(field: string, text: string): unknown {
  if (text.length > MAX_AMEND_FIELD_CHARS) throw invalid(field, `it is longer than ${MAX_AMEND_FIELD_CHARS} characters`);
  if (text.trim() === '') throw invalid(field, 'it is empty (write null for no payload)');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw invalid(field, whereJsonFails(text, error));
  }
}

/** Labels from `key=value` lines (the first `=` splits; blank lines skipped) or from a JSON object of strings. */
export function parseLabels(text: string): Record<string, string> {
  const field = 'labels';
  if (text.length > MAX_AMEND_FIELD_CHARS) throw invalid(field, `it is longer than ${MAX_AMEND_FIELD_CHARS} characters`);
  if (text.trim().startsWith('{')) {
    const parsed = parseJson(field, text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
      throw invalid(field, 'as JSON, the labels must be an object of strings');
    }
    return { ...(parsed as Record<string, string>) };
  }
  const labels: Record<string, string> = Object.create(null);
  const lines = text.split('\n');
  if (lines.length > MAX_LABEL_LINES) throw invalid(field, `there are more than ${MAX_LABEL_LINES} lines`);
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw invalid(field, `line ${i + 1} is not key=value`);
    const key = line.slice(0, eq).trim();
    if (key === '') throw invalid(field, `line ${i + 1} has no key before =`);
    if (Object.hasOwn(labels, key)) throw invalid(field, `line ${i + 1} repeats the label ${key}`);
    labels[key] = line.slice(eq + 1);
  }
  return { ...labels };
}

/**
 * The `amended_request` a console form asks for, or undefined for a plain approve (none of the
 * amendment fields present). Invalid JSON or label lines: 400 `invalid_request` naming the field
 * and the place, never the input.
 */
export function amendedRequestOf(form: Form): Record<string, unknown> | undefined {
  const whole = form[AMEND_FIELDS.request];
  if (whole !== undefined) {
    const parsed = parseJson('amended_request', whole);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('amended_request', 'it must be a JSON object');
    return parsed as Record<string, unknown>;
  }
  const payload = form[AMEND_FIELDS.payload];
  const labels = form[AMEND_FIELDS.labels];
  if (payload === undefined && labels === undefined) return undefined;
  return {
    ...(payload !== undefined ? { payload: parseJson('payload', payload) } : {}),
    ...(labels !== undefined ? { labels: parseLabels(labels) } : {}),
  };
}

/** The labels as the edit form shows them: `key=value` lines, or JSON when a value holds a line break. */
export function labelsText(labels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.some(([k, v]) => /[\r\n]/.test(v) || /[\r\n=]/.test(k) || k.trim() !== k || k.trim().startsWith('{'))) return JSON.stringify(labels, null, 2);
  return entries.map(([k, v]) => `${k}=${v}`).join('\n');
}

/** Whether a request as readers see it has redacted parts (then it cannot be sent back as an amendment). */
export function isRedacted(request: Pick<JobRequest, 'payload' | 'labels'>): boolean {
  const stack: unknown[] = [request.payload, request.labels];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === REDACTED) return true;
    if (value !== null && typeof value === 'object') stack.push(...Object.values(value as Record<string, unknown>));
  }
  return false;
}

const ABSENT = Symbol('absent');

/** The value at a changed path (`payload.amount`, `payload.items[2]`, `labels.env`) of a request, or ABSENT. */
export function valueAt(request: Pick<JobRequest, 'payload' | 'labels'>, path: string): unknown {
  const parts = /^(payload|labels)((?:\.[^.[\]]*|\[\d+\])*)$/.exec(path);
  if (!parts) return ABSENT;
  let node: unknown = parts[1] === 'payload' ? request.payload : request.labels;
  for (const step of parts[2]!.match(/\.[^.[\]]*|\[\d+\]/g) ?? []) {
    if (node === null || typeof node !== 'object') return ABSENT;
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    if (Array.isArray(node) ? typeof key !== 'number' || key >= node.length : typeof key === 'number' || !Object.hasOwn(node, key)) return ABSENT;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** A value of a diff line, as short JSON (bounded); "(absent)" for a member that is not there. */
export function diffValue(value: unknown, max = 2000): string {
  if (value === ABSENT) return '(absent)';
  const text = JSON.stringify(value) ?? 'null';
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}
