import { Command } from '@nestjs/cqrs';
import type { Principal } from '@signoff/runtime';

/** Activate a policy bundle (`PUT /policy`, admin), on the CommandBus. */
export class ActivatePolicyCommand extends Command<{ snapshot: string; version: string }> {
  constructor(
    /** The bundle as sent. */
    readonly text: string,
    readonly format: 'json' | 'yaml',
    readonly principal: Principal,
  ) {
    super();
  }
}
