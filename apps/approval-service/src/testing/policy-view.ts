import { activationNumber, ActivePolicyView } from '@signoff/core';
import { compilePolicy, parsePolicy } from '@signoff/policy-engine';

/** An ActivePolicyView of a bundle text, as ActivePolicy would hold it (unit tests). */
export function policyView(text: string, version = 'v1'): ActivePolicyView {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(`invalid test policy: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const compiled = compilePolicy(parsed.bundle);
  return { bundle: parsed.bundle, compiled, snapshot: compiled.snapshot, version, activation: activationNumber(version, 0n), activatedAt: '2026-01-01T00:00:00.000Z', activatedBy: 'test' };
}
