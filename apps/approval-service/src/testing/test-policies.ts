import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The policy the approval tests start with. */
export const POLICY_V1 = `
version: v1
default: deny
rules:
  - id: allow-readonly
    when: {topic: knowledge.read}
    decision: allow
  - id: require-approval-prod-finance
    when: {topic: finance.payment.execute, env: production}
    decision: require_human
    approval: {required: 1, timeout: 1h}
  - id: large-transfer-two-reviewers
    when: {topic: finance.transfer.large}
    decision: require_human
    approval: {required: 2, timeout: 1h}
  - id: infra-change-by-approvers
    when: {topic: infra.change}
    decision: require_human
    approval: {required: 1, reviewers: [change-approver], timeout: 1h}
  - id: external-notify
    when: {topic: customer.notify}
    decision: require_human
    approval: {required: 1, timeout: 30m}
`;

/** V1 plus an unrelated rule: another snapshot, the same decision for every job above. */
export const POLICY_V2_UNRELATED_CHANGE = `${POLICY_V1}
  - id: allow-reports
    when: {topic: reports.read}
    decision: allow
`;

/** V1 with payments now needing two reviewers: another decision for finance.payment.execute. */
export const POLICY_V3_STRICTER_PAYMENTS = POLICY_V1.replace('approval: {required: 1, timeout: 1h}', 'approval: {required: 2, timeout: 1h}');

/** Writes a policy bundle to a fresh temporary file and returns its path. */
export function writePolicyFile(text: string = POLICY_V1): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-approval-policy-'));
  const file = path.join(dir, 'policy.yaml');
  fs.writeFileSync(file, text);
  return file;
}
