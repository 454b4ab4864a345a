import { describe, expect, it } from 'vitest';
import { activationNumber } from './active-policy.service';

describe('activationNumber (GET /policy `activation`)', () => {
  it('is the number PolicyActivated recorded as `v<n>`', () => {
    expect(activationNumber('v1', 0n)).toBe(1);
    expect(activationNumber('v12', 11n)).toBe(12);
  });

  it('falls back to the revision in the policy stream + 1 for a version of another form', () => {
    expect(activationNumber('2026-01', 4n)).toBe(5);
  });
});
