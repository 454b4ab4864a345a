import { describe, expect, it } from 'vitest';
import { foldJob } from '@signoff/approvals';
import { JobEvent, SignoffError } from '@signoff/contracts';
import { Principal, Role } from '@signoff/runtime';
import { requestedJobRef, visibleJob } from './job-access';

const principal = (sub: string, roles: Role[], extra: Partial<Principal> = {}): Principal => ({ sub, roles: new Set(roles), topics: null, tenants: null, ...extra });
const meta = { correlationId: 'c', causationId: 'c', actor: 'agent-7', at: '2026-01-01T00:00:00.000Z' };
const job = foldJob([
  { type: 'JobSubmitted', data: { job_id: 'j1', job_hash: 'sha256:x', request: { topic: 'finance.payment.execute', priority: 'high', tenant: 'acme', submitted_by: 'agent-7', labels: {}, payload: null } }, metadata: meta },
  { type: 'PolicyEvaluated', data: { job_id: 'j1', decision: 'allow', rule_id: 'r', reason: '', policy_snapshot: 's', policy_version: 'v1' }, metadata: meta },
] as JobEvent[]);
const ref = { tenant: 'acme', jobId: 'j1' };

function code(run: () => unknown): string | null {
  try {
    run();
    return null;
  } catch (error) {
    return (error as SignoffError).code;
  }
}

describe('job access', () => {
  it('names the tenant of a read: the one sent, else the token\'s only tenant, else default; an invisible tenant is 404', () => {
    expect(requestedJobRef(principal('a', ['auditor']), 'j1', 'acme')).toEqual(ref);
    expect(requestedJobRef(principal('a', ['auditor'], { tenants: ['acme'] }), 'j1')).toEqual(ref);
    expect(requestedJobRef(principal('a', ['auditor'], { tenants: ['acme', 'default'] }), 'j1', '')).toEqual({ tenant: 'default', jobId: 'j1' });
    expect(code(() => requestedJobRef(principal('a', ['auditor'], { tenants: ['acme', 'globex'] }), 'j1'))).toBe('not_found');
    expect(requestedJobRef(principal('a', ['auditor']), 'j1')).toEqual({ tenant: 'default', jobId: 'j1' });
    expect(code(() => requestedJobRef(principal('a', ['auditor'], { tenants: ['globex'] }), 'j1', 'acme'))).toBe('not_found');
    for (const bad of ['a|b', 'a b', ['acme', 'globex'], 42]) expect(code(() => requestedJobRef(principal('a', ['auditor']), 'j1', bad))).toBe('not_found');
    expect(code(() => requestedJobRef(principal('a', ['auditor']), 'bad id', 'acme'))).toBe('not_found');
  });

  it('reads: admins and auditors every topic of their tenants, reviewers within their topics, submitters only their own jobs', () => {
    const may = (p: Principal) => code(() => visibleJob(p, job, ref)) === null;
    expect(may(principal('ada', ['admin'], { topics: ['customer.*'] }))).toBe(true);
    expect(may(principal('aud', ['auditor'], { topics: [] }))).toBe(true);
    expect(may(principal('aud', ['auditor'], { tenants: ['globex'] }))).toBe(false);
    expect(may(principal('rita', ['reviewer'], { topics: ['finance.*'] }))).toBe(true);
    expect(may(principal('nora', ['reviewer'], { topics: ['customer.*'] }))).toBe(false);
    expect(may(principal('agent-7', ['submitter']))).toBe(true);
    expect(may(principal('agent-8', ['submitter']))).toBe(false);
    expect(may(principal('Agent-7', ['submitter']))).toBe(false); // reading compares sub exactly: the stricter reading
    expect(may(principal('agent-7', ['submitter', 'reviewer'], { topics: ['customer.*'] }))).toBe(true); // its own job
    expect(code(() => visibleJob(principal('ada', ['admin']), foldJob([]), ref))).toBe('not_found');
  });
});
