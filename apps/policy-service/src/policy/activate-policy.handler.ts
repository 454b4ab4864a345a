import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { ActivePolicy } from '@signoff/core';
import { ActivatedPolicyAnswer, ActivatePolicyCommand } from './activate-policy.command';

/**
 * Parses, validates and activates a bundle in the event log (400 `invalid_policy` with line and
 * column otherwise); every instance serves it within 1 s.
 */
@CommandHandler(ActivatePolicyCommand)
export class ActivatePolicyHandler implements ICommandHandler<ActivatePolicyCommand> {
  constructor(private readonly policy: ActivePolicy) {}

  async execute({ text, format, principal }: ActivatePolicyCommand): Promise<ActivatedPolicyAnswer> {
    const activated = await this.policy.activate(text, principal.sub, format);
    return { snapshot: activated.snapshot, version: activated.bundle.version, activation: activated.activation };
  }
}
