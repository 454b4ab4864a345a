import { Query } from '@nestjs/cqrs';
import type { SignedTreeHead } from '@signoff/audit-proof';
import type { AuditFilterInput } from '@signoff/core';
import type { Principal } from '@signoff/runtime';

export interface AuditEventsPage {
  /** Structured CloudEvents 1.0, as on `signoff.audit` (redacted the same way). */
  readonly items: unknown[];
  /** Pass as `cursor` for the next page; null once the readable log is exhausted. */
  readonly next_cursor: string | null;
  /** The newest signed tree head when the page was read (prove any item with its `id`). */
  readonly tree_head: SignedTreeHead | null;
}

/** `GET /audit/events?actor=&tenant=&topic=&decision=&from=&to=&cursor=&limit=`. */
export class AuditEventsQuery extends Query<AuditEventsPage> {
  constructor(
    readonly principal: Principal,
    readonly input: AuditFilterInput & { readonly cursor?: string | null; readonly limit?: string | null },
  ) {
    super();
  }
}
