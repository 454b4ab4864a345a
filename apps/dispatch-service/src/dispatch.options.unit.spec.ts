import { describe, expect, it } from 'vitest';
import { dispatchOptionsFromEnv, resolveDispatchOptions } from './dispatch.options';

describe('dispatch options from the environment', () => {
  it('defaults: 5 attempts, no fault', () => {
    expect(dispatchOptionsFromEnv({})).toEqual({ options: {}, problems: [] });
    expect(resolveDispatchOptions({})).toMatchObject({ maxAttempts: 5, fault: null, replay: true });
  });

  it('reads DISPATCH_MAX_ATTEMPTS and the test-only fault hook', () => {
    expect(dispatchOptionsFromEnv({ DISPATCH_MAX_ATTEMPTS: '3', SIGNOFF_FAULT: 'crash-after-publish', SIGNOFF_FAULT_JOB: 'job-9' })).toEqual({
      options: { maxAttempts: 3, fault: { point: 'crash-after-publish', jobId: 'job-9' } },
      problems: [],
    });
  });

  it('names every bad value', () => {
    const { problems } = dispatchOptionsFromEnv({ DISPATCH_MAX_ATTEMPTS: '0', SIGNOFF_FAULT: 'explode' });
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/DISPATCH_MAX_ATTEMPTS=0[\s\S]*SIGNOFF_FAULT=explode/);
  });
});
