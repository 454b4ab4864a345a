import { Query } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';
import type { ApprovalSummary } from '../projections/approval-summary';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
/** The longest `expires_within` window (one year, in seconds). */
export const MAX_EXPIRES_WITHIN_SECONDS = 365 * 24 * 3600;

/** The filters of `GET /approvals` / ListApprovals, as sent (strings; gRPC sends '' for absent). */
export interface ListApprovalsInput {
  readonly state?: string;
  readonly topic?: string;
  /** Only this tenant's approvals; absent = every tenant the caller may see. */
  readonly tenant?: string;
  readonly cursor?: string;
  readonly limit?: string | number;
  /** Only this rule's approvals (a rule id). */
  readonly rule?: string;
  /** `true` / `false`: only drifted / only undrifted approvals. */
  readonly drifted?: string | boolean;
  /** Only approvals expiring within this many seconds from now (1 to 31,536,000): "expiring soon". */
  readonly expires_within?: string | number;
}

export interface ApprovalsPage {
  readonly items: ApprovalSummary[];
  readonly next_cursor: string | null;
}

/** List open approvals (HTTP `GET /approvals`, gRPC `Approvals/ListApprovals`), on the QueryBus. */
export class ListApprovalsQuery extends Query<ApprovalsPage> {
  constructor(
    readonly principal: Principal,
    readonly input: ListApprovalsInput,
  ) {
    super();
  }
}
