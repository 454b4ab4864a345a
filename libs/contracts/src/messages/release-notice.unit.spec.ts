import { describe, expect, it } from 'vitest';
import { readReleaseNotice } from './release-notice';

// Moved from apps/dispatch-service/src/dispatch/dispatch-message.unit.spec.ts with the parsing it tests.
describe('release notifications', () => {
  const job1 = { tenant: 'default', jobId: 'job-1' };
  it('take the job id from the value or the key, and refuse disagreement or a malformed id', () => {
    expect(readReleaseNotice({ job_id: 'job-1', decision: 'allow' }, 'job-1')).toEqual(job1);
    expect(readReleaseNotice({ decision: 'allow' }, 'job-2')).toEqual({ tenant: 'default', jobId: 'job-2' });
    expect(readReleaseNotice({ job_id: 'job-1' }, null)).toEqual(job1);
    expect(readReleaseNotice({ job_id: 'job-1' }, 'job-2')).toBeNull();
    expect(readReleaseNotice({ job_id: 42 }, 'job-1')).toBeNull();
    expect(readReleaseNotice(null, null)).toBeNull();
    expect(readReleaseNotice({ job_id: ' spaced id' }, null)).toBeNull();
  });

  it('name the tenant the relays put in the value (absent: default, as in older messages); a malformed tenant is refused', () => {
    expect(readReleaseNotice({ job_id: 'job-1', tenant: 'acme' }, 'job-1')).toEqual({ tenant: 'acme', jobId: 'job-1' });
    expect(readReleaseNotice({ job_id: 'job-1' }, 'job-1')).toEqual(job1);
    for (const tenant of [42, '', 'a|b', 'a b']) expect(readReleaseNotice({ job_id: 'job-1', tenant }, 'job-1')).toBeNull();
  });
});
