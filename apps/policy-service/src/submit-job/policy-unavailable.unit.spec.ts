import { describe, expect, it } from 'vitest';
import { SignoffError } from '@signoff/contracts';
import { EvaluationBudgetExceededError } from '@signoff/policy-engine';
import { policyUnavailable } from './submit-job.handler';

/** What a client is told when an evaluation produced no outcome (POST /jobs, Kafka ingress, dry run). */
describe('policyUnavailable', () => {
  it('says an overrun is one (reason evaluation_budget_exceeded, no Retry-After: it would overrun again)', () => {
    const error = policyUnavailable(new EvaluationBudgetExceededError('policy evaluation exceeded its budget of 50 ms'));
    expect(error).toMatchObject({ code: 'policy_unavailable', status: 503, extensions: { reason: 'evaluation_budget_exceeded' }, headers: {} });
  });

  it('keeps the cause of any other failure for the log, not the client: a fixed detail with Retry-After', () => {
    const logged: string[] = [];
    const error = policyUnavailable(new Error('connection to 10.0.0.7:5432 refused (password authentication failed for user signoff)'), { error: (line: string) => void logged.push(line) });
    expect(error).toMatchObject({ code: 'policy_unavailable', status: 503, message: 'policy evaluation failed; retry shortly', extensions: {}, headers: { 'Retry-After': '5' } });
    expect(logged.join('\n')).toMatch(/10\.0\.0\.7:5432 refused/);
  });

  it('passes a SignoffError through (the 5 s timeout is already one)', () => {
    const timeout = new SignoffError('policy_unavailable', 'policy evaluation exceeded 5000 ms', {}, { 'Retry-After': '5' });
    expect(policyUnavailable(timeout)).toBe(timeout);
  });
});
