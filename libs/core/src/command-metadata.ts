import { randomUUID } from 'node:crypto';
import type { CommandMetadata } from '@signoff/approvals';
import type { Clock } from './clock';

/** Who issues a command and which request it belongs to; see {@link commandMetadata}. */
export interface CommandOrigin {
  /** The subject (user or service instance) issuing the command; `actor` on the events. */
  readonly actor: string;
  /**
   * The command's id, from which its events' ids derive. Make it once per incoming request
   * ({@link newCommandId}) and pass it on every conflict retry, so a retried append carries the
   * same event ids; omitted, a fresh one is made.
   */
  readonly commandId?: string;
  /** The request or message this command serves; defaults to `commandId`. */
  readonly correlationId?: string;
  /** The command this one follows from; omitted, the events default it to `commandId`. */
  readonly causationId?: string;
}

/** A fresh command id (a random UUID). */
export function newCommandId(): string {
  return randomUUID();
}

/**
 * The one way the shells build a command's metadata: ids from `origin`, time from `clock` (read at
 * each call, so a command rebuilt on a conflict retry is stamped when it is decided). The domain
 * never reads a clock or makes an id: they come in here.
 */
export function commandMetadata(clock: Clock, origin: CommandOrigin): CommandMetadata {
  const commandId = origin.commandId ?? newCommandId();
  return {
    commandId,
    correlationId: origin.correlationId ?? commandId,
    // Absent rather than undefined: the events default it to the command id.
    ...(origin.causationId ? { causationId: origin.causationId } : {}),
    actor: origin.actor,
    now: clock.now().toISOString(),
  };
}
