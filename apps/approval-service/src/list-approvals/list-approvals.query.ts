import { Injectable } from '@nestjs/common';
import { FieldError, ID_PATTERN, SignoffError } from '@signoff/contracts';
import { Principal } from '@signoff/runtime';
import { ApprovalSummary } from '../projections/approval-summary';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const TOPIC_GLOB = /^[A-Za-z0-9._*-]{1,200}$/;

/** The filters of `GET /approvals` / ListApprovals, as sent (strings; gRPC sends '' for absent). */
export interface ListApprovalsInput {
  readonly state?: string;
  readonly topic?: string;
  /** Only this tenant's approvals; absent = every tenant the caller may see. */
  readonly tenant?: string;
  readonly cursor?: string;
  readonly limit?: string | number;
}

export interface ApprovalsPage {
  readonly items: ApprovalSummary[];
  readonly next_cursor: string | null;
}

/**
 * Open approvals from the pending-approvals read model (eventually consistent: an approval shows
 * up once this instance's subscription has folded its request, usually within milliseconds).
 * Only `state=pending` is listed; closed approvals are read one by one (`GET /approvals/:job_id`)
 * or from the job's history. The caller sees what it may read (`mayReadJob`: its tenants; a
 * reviewer its topics, admins and auditors every topic), optionally one tenant of them.
 */
@Injectable()
export class ListApprovalsQuery {
  constructor(private readonly projection: PendingApprovalsProjection) {}

  list(principal: Principal, input: ListApprovalsInput): ApprovalsPage {
    const errors: FieldError[] = [];
    const state = input.state || 'pending';
    if (state !== 'pending') errors.push({ field: 'state', message: 'only state=pending can be listed' });
    const topic = input.topic || undefined;
    if (topic !== undefined && !TOPIC_GLOB.test(topic)) errors.push({ field: 'topic', message: 'topic must be a topic or a glob with *' });
    const tenant = input.tenant || undefined;
    if (tenant !== undefined && !ID_PATTERN.test(tenant)) errors.push({ field: 'tenant', message: 'tenant must be a tenant id' });
    let limit = DEFAULT_PAGE_SIZE;
    if (input.limit !== undefined && input.limit !== '' && input.limit !== 0) {
      limit = Number(input.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
        errors.push({ field: 'limit', message: `limit must be an integer from 1 to ${MAX_PAGE_SIZE}` });
      }
    }
    if (errors.length > 0) throw new SignoffError('invalid_request', 'the approval query is invalid', { errors });
    return this.projection.list({ principal, topic, ...(tenant !== undefined ? { tenant } : {}), cursor: input.cursor || undefined, limit });
  }
}
