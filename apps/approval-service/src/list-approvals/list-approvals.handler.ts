import { QueryHandler, IQueryHandler } from '@nestjs/cqrs';
import { FieldError, ID_PATTERN, SignoffError } from '@signoff/contracts';
import { Clock } from '@signoff/core';
import { PendingApprovalsProjection } from '../projections/pending-approvals.projection';
import { ApprovalsPage, DEFAULT_PAGE_SIZE, ListApprovalsQuery, MAX_EXPIRES_WITHIN_SECONDS, MAX_PAGE_SIZE } from './list-approvals.query';

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
  constructor(
    private readonly projection: PendingApprovalsProjection,
    private readonly clock: Clock,
  ) {}

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
    const rule = input.rule || undefined;
    if (rule !== undefined && !ID_PATTERN.test(rule)) errors.push({ field: 'rule', message: 'rule must be a rule id' });
    let drifted: boolean | undefined;
    if (input.drifted !== undefined && input.drifted !== '') {
      if (input.drifted === true || input.drifted === 'true') drifted = true;
      else if (input.drifted === false || input.drifted === 'false') drifted = false;
      else errors.push({ field: 'drifted', message: 'drifted must be true or false' });
    }
    let expiresBeforeMs: number | undefined;
    if (input.expires_within !== undefined && input.expires_within !== '' && input.expires_within !== 0) {
      const seconds = Number(input.expires_within);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_WITHIN_SECONDS) {
        errors.push({ field: 'expires_within', message: `expires_within must be an integer number of seconds from 1 to ${MAX_EXPIRES_WITHIN_SECONDS}` });
      } else expiresBeforeMs = this.clock.now().getTime() + seconds * 1000;
    }
    if (errors.length > 0) throw new SignoffError('invalid_request', 'the approval query is invalid', { errors });
    return this.projection.list({
      principal,
      topic,
      ...(tenant !== undefined ? { tenant } : {}),
      cursor: input.cursor || undefined,
      limit,
      ...(rule !== undefined ? { rule } : {}),
      ...(drifted !== undefined ? { drifted } : {}),
      ...(expiresBeforeMs !== undefined ? { expiresBeforeMs } : {}),
    });
  }
}
