import { Query } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';

/** What a dry run answers (`POST /policy/evaluate`). */
export interface DryRunAnswer {
  readonly decision: string;
  readonly rule_id: string | null;
  readonly reason: string;
  readonly policy_snapshot: string;
}

/** Evaluate a job request under the active policy, storing and counting nothing, on the QueryBus. */
export class EvaluatePolicyQuery extends Query<DryRunAnswer> {
  constructor(
    /** The job request as sent (validated by the handler). */
    readonly body: unknown,
    readonly principal: Principal,
  ) {
    super();
  }
}
