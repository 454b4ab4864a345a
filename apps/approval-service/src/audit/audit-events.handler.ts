import { Inject, Optional } from '@nestjs/common';
import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { SignoffError, type JobEvent, type SignoffEvent } from '@signoff/contracts';
import { AUDIT_EVENT_TYPES, AUDIT_REDACT, matchesAuditFilter, parseAuditFilter, RuleRedactions, tenantOfEvent, toCloudEvent } from '@signoff/core';
import { EventStore, EventStoreArgumentError, type RecordedEvent } from '@signoff/event-store';
import { canSeeTenant } from '@signoff/runtime';
import { AuditTree } from './audit-tree.service';
import { AuditEventsPage, AuditEventsQuery } from './audit-events.query';

/** Events of the log read per request at most, matching or not: a hostile filter costs no more. */
export const AUDIT_SCAN_LIMIT = 5000;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const TOPIC_CACHE = 10_000;

export function encodeCursor(position: bigint): string {
  return Buffer.from(JSON.stringify({ p: position.toString() })).toString('base64url');
}

export function decodeCursor(raw: string | null | undefined): bigint | null {
  if (raw === undefined || raw === '') return null;
  const refuse = (): never => {
    throw new SignoffError('invalid_cursor', 'cursor must be the next_cursor of a previous page');
  };
  if (typeof raw !== 'string' || raw.length > 200 || !/^[A-Za-z0-9_-]+$/.test(raw)) return refuse();
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { p?: unknown };
    if (typeof value?.p !== 'string' || !/^[1-9]\d{0,18}$/.test(value.p)) return refuse();
    return BigInt(value.p);
  } catch {
    return refuse();
  }
}

/**
 * The auditor's questions over the log, in log order, redacted like the audit stream
 * (AUDIT_REDACT_FIELDS and the deciding rule's `redact`). A tenant-scoped caller sees its tenants'
 * job events only. Each request scans at most {@link AUDIT_SCAN_LIMIT} events: a page may hold
 * fewer items than `limit` (even none) and still have a `next_cursor`.
 */
@QueryHandler(AuditEventsQuery)
export class AuditEventsHandler implements IQueryHandler<AuditEventsQuery> {
  private readonly redactions: RuleRedactions;
  private readonly topics = new Map<string, string | null>();

  constructor(
    private readonly store: EventStore,
    @Inject(AUDIT_REDACT) redact: readonly string[],
    @Optional() private readonly tree?: AuditTree,
  ) {
    this.redactions = new RuleRedactions(store, redact);
  }

  async execute({ principal, input }: AuditEventsQuery): Promise<AuditEventsPage> {
    const filter = parseAuditFilter(input);
    const after = decodeCursor(input.cursor);
    const limitRaw = input.limit;
    if (limitRaw !== undefined && (typeof limitRaw !== 'string' || !/^\d{1,4}$/.test(limitRaw) || Number(limitRaw) < 1 || Number(limitRaw) > MAX_LIMIT)) {
      throw new SignoffError('invalid_audit_filter', `limit must be from 1 to ${MAX_LIMIT}`, { parameter: 'limit' });
    }
    const limit = limitRaw === undefined ? DEFAULT_LIMIT : Number(limitRaw);
    let events: RecordedEvent<SignoffEvent>[];
    try {
      events = await this.store.readAll<SignoffEvent>({ fromPosition: after ?? 0n, maxCount: AUDIT_SCAN_LIMIT + (after === null ? 0 : 1), filter: { eventTypes: AUDIT_EVENT_TYPES } });
    } catch (error) {
      if (error instanceof EventStoreArgumentError) throw new SignoffError('invalid_cursor', 'cursor names no event of the log');
      throw error;
    }
    if (after !== null && events[0]?.position === after) events.shift();
    const items: unknown[] = [];
    let last: bigint | null = null;
    for (const event of events) {
      last = event.position;
      const tenant = tenantOfEvent(event);
      const visible = tenant === null ? principal.tenants === null : canSeeTenant(principal, tenant);
      if (visible && (await matchesAuditFilter(filter, event, (stream) => this.topicOf(stream)))) {
        items.push(toCloudEvent(event, await this.redactions.pathsFor(event)).toJSON());
        if (items.length === limit) break;
      }
    }
    // A full page may have more behind it; otherwise the scan reached the end of the readable log, or its bound.
    const exhausted = items.length < limit && events.length < AUDIT_SCAN_LIMIT;
    const head = this.tree?.available ? await this.tree.latestHead() : null;
    return { items, next_cursor: exhausted || last === null ? null : encodeCursor(last), tree_head: head };
  }

  private async topicOf(streamId: string): Promise<string | null> {
    if (this.topics.has(streamId)) return this.topics.get(streamId)!;
    const [first] = await this.store.readStream<JobEvent>(streamId, { maxCount: 1 });
    const topic = first?.type === 'JobSubmitted' ? first.data.request.topic : null;
    if (this.topics.size >= TOPIC_CACHE) this.topics.delete(this.topics.keys().next().value as string);
    this.topics.set(streamId, topic);
    return topic;
  }
}
