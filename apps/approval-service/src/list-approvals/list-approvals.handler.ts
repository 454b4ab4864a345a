import { QueryHandler, IQueryHandler } from '@nestjs/cqrs';
import { FieldError, ID_PATTERN, SignoffError } from '@signoff/contracts';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { ApprovalsPage, DEFAULT_PAGE_SIZE, ListApprovalsQuery, MAX_PAGE_SIZE } from './list-approvals.query';

const TOPIC_GLOB = /^[A-Za-z0-9._*-]{1,200}$/;

/**
 * Open approvals from the pending-approvals read model (eventually consistent: an approval shows
 * up once this instance's subscription has folded its request, usually within milliseconds).
 * Only `state=pending` is listed; closed approvals are read one by one (`GET /approvals/:job_id`)
 * or from the job's history. The caller sees what it may read (`mayReadJob`: its tenants; a
 * reviewer its topics, admins and auditors every topic), optionally one tenant of them.
 */
@QueryHandler(ListApprovalsQuery)
export class ListApprovalsHandler implements IQueryHandler<ListApprovalsQuery> {
  constructor(private readonly projection: PendingApprovalsProjection) {}

  // async: the bus answers with a promise; a refusal rejects it as a throw did.
  async execute({ principal, input }: ListApprovalsQuery): Promise<ApprovalsPage> {
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
