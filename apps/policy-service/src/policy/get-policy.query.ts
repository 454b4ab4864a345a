import { Query } from '@nestjs/cqrs';

/** `GET /policy`: the active policy. */
export interface ActivePolicyAnswer {
  readonly snapshot: string;
  /** The bundle's own `version:`. */
  readonly version: string;
  /** The activation number (1 = the first policy ever activated). */
  readonly activation: number;
  readonly rules: unknown;
  readonly default: string;
  readonly activated_at: string;
  readonly activated_by: string;
}

/** Read the active policy (`GET /policy`), on the QueryBus. */
export class GetPolicyQuery extends Query<ActivePolicyAnswer> {}
