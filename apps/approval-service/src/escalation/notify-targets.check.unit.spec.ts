import { describe, expect, it } from 'vitest';
import type { ActivePolicy, ActivePolicyView } from '@signoff/core';
import { SignoffMetrics } from '@signoff/observability';
import type { SignoffConfig } from '@signoff/runtime';
import { policyView } from '../testing/policy-view';
import { NotifyTargetsCheck } from './notify-targets.check';

const policy = (notify: string) => `
version: v1
default: deny
rules:
  - id: r
    when: {topic: t}
    decision: require_human
    approval: {notify: [${notify}], escalate: [{after: 1m, notify: [slack]}]}
`;

describe('NotifyTargetsCheck', () => {
  it('counts the unconfigured names at start and again at each activation, never throws', async () => {
    let listener: ((p: ActivePolicyView) => void) | null = null;
    let active = policyView(policy('webhook:ops, webhook:gone'));
    const activePolicy = { get: () => active, onActivated: (l: (p: ActivePolicyView) => void) => ((listener = l), () => (listener = null)) } as unknown as ActivePolicy;
    const config = { webhooks: { endpoints: [{ id: 'ops' }] }, slack: null } as unknown as SignoffConfig;
    const metrics = new SignoffMetrics();
    const check = new NotifyTargetsCheck(config, activePolicy, metrics);
    check.onApplicationBootstrap();
    expect((await metrics.notifyUnknownTargets.get()).values[0]?.value).toBe(2);
    expect(check.check(active)).toEqual(['webhook:gone', 'slack']);

    active = policyView(policy('webhook:ops'));
    listener!(active);
    expect((await metrics.notifyUnknownTargets.get()).values[0]?.value).toBe(1);
    check.onModuleDestroy();
    expect(listener).toBeNull();
  });
});
