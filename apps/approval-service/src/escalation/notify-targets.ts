import type { SignoffConfig } from '@signoff/runtime';

/** The `notify` name of Slack's delivery target. */
export const SLACK_NOTIFY_TARGET = 'slack';

/** The `notify` name of a webhook endpoint of SIGNOFF_WEBHOOKS_FILE. */
export function webhookNotifyTarget(endpointId: string): string {
  return `webhook:${endpointId}`;
}

/** The `notify` names of every configured delivery target (webhook endpoints, and Slack when configured). */
export function configuredNotifyTargets(config: Pick<SignoffConfig, 'webhooks' | 'slack'>): Set<string> {
  const names = new Set(config.webhooks.endpoints.map((endpoint) => webhookNotifyTarget(endpoint.id)));
  if (config.slack) names.add(SLACK_NOTIFY_TARGET);
  return names;
}

/**
 * Whether a target receives an approval event. `audience` is what the log recorded for it (the
 * requirement's `notify` or a step's), absent for the default audience. `subscribed` is whether the
 * target's own `events` filter lists the event's type.
 * - default audience: the target's `events` filter decides (the behaviour before `notify`);
 * - a named audience: only the targets it names, and among them those whose filter lists the type,
 *   except reminders and escalations, which a target named for them receives whatever its filter
 *   (the policy asked for them explicitly; a filter written before they existed cannot list them).
 */
export function targetReceives(target: string, audience: readonly string[] | undefined, subscribed: boolean, escalationEvent: boolean): boolean {
  if (audience === undefined) return subscribed;
  if (!audience.includes(target)) return false;
  return subscribed || escalationEvent;
}
