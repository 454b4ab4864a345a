import type { PolicyBundle } from './policy.types';

/**
 * Every notification target a bundle names (`approval.notify` and every `escalate[].notify`), once
 * each, in the order first named: what start-up and each activation compare with the configured
 * targets to warn about names that match none.
 */
export function notifyTargetsOf(bundle: PolicyBundle): string[] {
  const names = new Set<string>();
  for (const rule of bundle.rules) {
    for (const target of rule.approval?.notify ?? []) names.add(target);
    for (const step of rule.approval?.escalate ?? []) for (const target of step.notify ?? []) names.add(target);
  }
  return [...names];
}
