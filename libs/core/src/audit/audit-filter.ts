import { compileGlob, fromJobStreamId, JOB_EVENT_TYPES, SignoffError, type Glob, type SignoffEvent } from '@signoff/contracts';
import type { RecordedEvent } from '@signoff/event-store';

/** The decisions an auditor filters on (`decision=`), and the events that record them. */
export const AUDIT_DECISIONS = ['allowed', 'denied', 'approval_required', 'granted', 'rejected', 'expired', 'invalidated'] as const;
export type AuditDecision = (typeof AUDIT_DECISIONS)[number];

/** The events the audit stream carries (and `GET /audit/events`, `audit export` read). */
export const AUDIT_EVENT_TYPES: readonly string[] = [...JOB_EVENT_TYPES, 'PolicyActivated'];

/** The auditor's questions (issue 14 §4): every field optional, all given ones must hold. */
export interface AuditFilter {
  readonly actor?: string;
  readonly tenant?: string;
  /** A topic or a glob (`finance.*`). */
  readonly topic?: Glob;
  readonly decision?: AuditDecision;
  /** Inclusive bounds on when it happened (the event's `at`), epoch ms. */
  readonly from?: number;
  readonly to?: number;
}

/** The filters as sent (query string or CLI flags). */
export interface AuditFilterInput {
  readonly actor?: string | null;
  readonly tenant?: string | null;
  readonly topic?: string | null;
  readonly decision?: string | null;
  readonly from?: string | null;
  readonly to?: string | null;
}

const MAX_FILTER_LENGTH = 256;

/** Parses the filters; anything unreadable is 400 `invalid_audit_filter` naming the parameter. */
export function parseAuditFilter(input: AuditFilterInput): AuditFilter {
  const bad = (parameter: string, why: string): never => {
    throw new SignoffError('invalid_audit_filter', `${parameter} ${why}`, { parameter });
  };
  const text = (name: keyof AuditFilterInput): string | undefined => {
    const value = input[name];
    if (value === undefined || value === '') return undefined;
    if (value === null || typeof value !== 'string') return bad(name, 'must be given once, as text');
    if (value.length > MAX_FILTER_LENGTH || /[\u0000-\u001f\u007f]|[\ud800-\udfff]/.test(value)) return bad(name, `must be at most ${MAX_FILTER_LENGTH} printable characters`);
    return value;
  };
  const instant = (name: 'from' | 'to'): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value) ? Date.parse(value) : Number.NaN;
    return Number.isNaN(ms) ? bad(name, 'must be an ISO 8601 date or instant (2026-12-01, 2026-12-01T08:00:00Z)') : ms;
  };
  const decision = text('decision');
  if (decision !== undefined && !(AUDIT_DECISIONS as readonly string[]).includes(decision)) bad('decision', `must be one of ${AUDIT_DECISIONS.join(', ')}`);
  const topic = text('topic');
  const from = instant('from');
  const to = instant('to');
  if (from !== undefined && to !== undefined && from > to) bad('from', 'must not be after to');
  const actor = text('actor');
  const tenant = text('tenant');
  return {
    ...(actor !== undefined ? { actor } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
    ...(topic !== undefined ? { topic: compileGlob(topic, { star: 'within-line' }) } : {}),
    ...(decision !== undefined ? { decision: decision as AuditDecision } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  };
}

/** The decision an event records, if it records one. */
export function decisionOf(event: SignoffEvent): AuditDecision | null {
  switch (event.type) {
    case 'PolicyEvaluated':
      return event.data.decision === 'allow' ? 'allowed' : event.data.decision === 'deny' ? 'denied' : 'approval_required';
    case 'ApprovalGranted':
      return 'granted';
    case 'ApprovalRejected':
      return 'rejected';
    case 'ApprovalExpired':
      return 'expired';
    case 'ApprovalInvalidated':
      return 'invalidated';
    default:
      return null;
  }
}

/** The tenant of an event (job streams), null for control-plane events (policy activations). */
export function tenantOfEvent(event: { readonly streamId: string }): string | null {
  return fromJobStreamId(event.streamId)?.tenant ?? null;
}

/**
 * Whether an event answers the filter. `topicOf` gives the topic of the event's job (from its
 * JobSubmitted; only called when the filter names a topic).
 */
export async function matchesAuditFilter(
  filter: AuditFilter,
  event: RecordedEvent<SignoffEvent>,
  topicOf: (streamId: string) => Promise<string | null>,
): Promise<boolean> {
  const meta = event.metadata as { actor?: unknown; at?: unknown };
  if (filter.actor !== undefined && meta.actor !== filter.actor) return false;
  if (filter.tenant !== undefined && tenantOfEvent(event) !== filter.tenant) return false;
  if (filter.decision !== undefined && decisionOf(event) !== filter.decision) return false;
  if (filter.from !== undefined || filter.to !== undefined) {
    const at = typeof meta.at === 'string' ? Date.parse(meta.at) : event.createdAt.getTime();
    if ((filter.from !== undefined && !(at >= filter.from)) || (filter.to !== undefined && !(at <= filter.to))) return false;
  }
  if (filter.topic !== undefined) {
    const topic = event.type === 'PolicyActivated' ? null : await topicOf(event.streamId);
    if (topic === null || !filter.topic.test(topic)) return false;
  }
  return true;
}
