// npm start (copy the export lines it prints), then: npx node -r ./tools/register.cjs libs/client/examples/sdk.ts
import { SignoffApiError, SignoffClient } from '@signoff/client';

const baseUrl = process.env.SIGNOFF_URL ?? 'http://127.0.0.1:8080';
const agent = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_SUBMITTER_TOKEN! });
const reviewer = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_REVIEWER_TOKEN! });

async function main(): Promise<void> {
  // 1. The agent asks (policies/default.yaml: a production payment needs a human).
  const job = await agent.submit({ topic: 'finance.payment.execute', priority: 'high', labels: { env: 'production' }, payload: { invoice: 'INV-42', amount: 120 } });
  console.log(job.status, job.job_id); // approval_required <uuid>

  // 2. A reviewer tool approves what it was shown (the console, Slack or this call).
  setTimeout(() => void reviewer.approve(job.job_id, { reason: 'invoice checked', job_hash: job.job_hash, policy_snapshot: job.policy_snapshot }), 1_000);

  // 3. The agent waits for the decision (polling: its token may not read the reviewers' stream).
  const decision = await agent.waitForDecision(job.job_id, { timeoutMs: 60_000, until: 'completion' });
  console.log(decision.outcome, decision.state); // approved SUCCEEDED (the demo worker ran it once)

  // Refusals are typed errors carrying the API's code.
  try {
    await agent.submit({ topic: 'data.delete', payload: { table: 'customers' } });
  } catch (error) {
    if (error instanceof SignoffApiError) console.log(error.status, error.code, error.details.rule_id); // 403 policy_denied null
    else throw error;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
