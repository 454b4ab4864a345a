import { describe, expect, it } from 'vitest';
import { configuredNotifyTargets, targetReceives } from './notify-targets';

describe('notification targets', () => {
  it('names the configured targets', () => {
    const endpoint = (id: string) => ({ id, url: 'https://x.example', secrets: [], events: [] });
    const webhooks = { endpoints: [endpoint('ops'), endpoint('audit')], maxAttempts: 1, timeoutMs: 100, backoffBaseMs: 1, backoffMaxMs: 1, claimLeaseMs: 1000 };
    expect([...configuredNotifyTargets({ webhooks, slack: null })]).toEqual(['webhook:ops', 'webhook:audit']);
    expect(configuredNotifyTargets({ webhooks, slack: {} as never }).has('slack')).toBe(true);
  });

  it.each([
    ['default audience: the events filter decides', 'webhook:ops', undefined, true, false, true],
    ['default audience, not subscribed', 'webhook:ops', undefined, false, false, false],
    ['named: only the named targets', 'webhook:audit', ['webhook:ops'], true, false, false],
    ['named and subscribed', 'webhook:ops', ['webhook:ops'], true, false, true],
    ['named but its filter leaves the type out', 'webhook:ops', ['webhook:ops'], false, false, false],
    ['named for a reminder, whatever its filter', 'slack', ['slack'], false, true, true],
    ['a reminder for someone else', 'slack', ['webhook:ops'], true, true, false],
  ] as const)('%s', (_name, target, audience, subscribed, escalation, expected) => {
    expect(targetReceives(target, audience, subscribed, escalation)).toBe(expected);
  });
});
