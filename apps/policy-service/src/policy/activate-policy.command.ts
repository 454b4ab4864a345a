import { Command } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';

/** What `PUT /policy` answers: the bundle now active, its own `version:` and its activation number. */
export interface ActivatedPolicyAnswer {
  readonly snapshot: string;
  readonly version: string;
  readonly activation: number;
}

/** Activate a policy bundle (`PUT /policy`, admin), on the CommandBus. */
export class ActivatePolicyCommand extends Command<ActivatedPolicyAnswer> {
  constructor(
    /** The bundle as sent. */
    readonly text: string,
    readonly format: 'json' | 'yaml',
    readonly principal: Principal,
  ) {
    super();
  }
}
