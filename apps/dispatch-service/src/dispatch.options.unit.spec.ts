import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@signoff/runtime';
import { dispatchOptionsFromConfig, resolveDispatchOptions } from './dispatch.options';

// The dispatch settings are read with the rest of the environment, in the one validated parse.
const parse = (env: Record<string, string>) => parseConfig({ EVENT_STORE_URL: 'pglite://memory', ...env });

describe('dispatch options from the environment', () => {
  it('defaults: 5 attempts, no fault', () => {
    expect(dispatchOptionsFromConfig(parse({}))).toEqual({ maxAttempts: 5, fault: null });
    expect(resolveDispatchOptions({})).toMatchObject({ maxAttempts: 5, fault: null, replay: true });
  });

  it('reads DISPATCH_MAX_ATTEMPTS and the test-only fault hook', () => {
    expect(dispatchOptionsFromConfig(parse({ DISPATCH_MAX_ATTEMPTS: '3', SIGNOFF_FAULT: 'crash-after-publish', SIGNOFF_FAULT_JOB: 'job-9' }))).toEqual({
      maxAttempts: 3,
      fault: { point: 'crash-after-publish', jobId: 'job-9' },
    });
  });

  it('names every bad value', () => {
    let problems: readonly string[] = [];
    try {
      parse({ DISPATCH_MAX_ATTEMPTS: '0', SIGNOFF_FAULT: 'explode' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/DISPATCH_MAX_ATTEMPTS=0[\s\S]*SIGNOFF_FAULT=explode/);
  });
});
