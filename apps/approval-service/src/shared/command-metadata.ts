import type { CommandMetadata } from '@signoff/approvals';
import type { Clock } from '@signoff/core';

/**
 * The metadata of a command issued by `actor` now. `commandId` is made once per incoming request
 * and kept across the handler's conflict retries, so a retried append carries the same event ids.
 */
export function commandMetadata(actor: string, clock: Clock, commandId: string): CommandMetadata {
  return { commandId, correlationId: commandId, actor, now: clock.now().toISOString() };
}
