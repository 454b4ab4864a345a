import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { ActivePolicy } from '@signoff/core';
import { ActivePolicyAnswer, GetPolicyQuery } from './get-policy.query';

/** The policy this instance serves (503 `policy_unavailable` before one is active). */
@QueryHandler(GetPolicyQuery)
export class GetPolicyHandler implements IQueryHandler<GetPolicyQuery> {
  constructor(private readonly policy: ActivePolicy) {}

  async execute(): Promise<ActivePolicyAnswer> {
    const p = this.policy.get();
    return {
      snapshot: p.snapshot,
      version: p.bundle.version,
      activation: p.activation,
      rules: p.bundle.rules, default: p.bundle.default,
      activated_at: p.activatedAt,
      activated_by: p.activatedBy,
    };
  }
}
