import type { JobRequest } from '@signoff/contracts';
import { stringify } from 'yaml';
import { parsePolicy } from '../policy.parser';
import type { PolicyBundle, PolicyRule } from '../policy.types';

/** A generated bundle for tests and benchmarks. */
export interface SyntheticPolicy {
  readonly bundle: PolicyBundle;
  /** The bundle as YAML (it parses back to `bundle`). */
  readonly yaml: string;
  /** The literal topics its rules name. */
  readonly topics: readonly string[];
}

const SERVICES = 50;
const ACTIONS = 5;

/**
 * A deterministic bundle of `ruleCount` rules shaped like a large real one (for tests and
 * benchmarks, not production): about 5% glob-topic rules (`svcN.*`), 1% rules without a topic
 * condition (a blocked tenant), the rest on one of 250 literal topics with label equality, label
 * lists, `in`, a `priority` condition, payload comparisons and approval blocks. No throttle rules
 * unless `throttle` is set (then every 25th literal rule throttles per tenant).
 */
export function syntheticPolicy(ruleCount = 1000, seed = 1, options: { throttle?: boolean } = {}): SyntheticPolicy {
  const random = mulberry32(seed);
  const topics = new Set<string>();
  const rules: PolicyRule[] = [];
  for (let i = 0; i < ruleCount; i++) {
    const id = `rule-${String(i).padStart(4, '0')}`;
    if (i % 20 === 0) {
      rules.push({ id, when: { topic: `svc${(i / 20) % SERVICES}.*`, risk: 'high' }, decision: 'deny' });
      continue;
    }
    if (i % 100 === 7) {
      rules.push({ id, when: { tenant: `blocked-${(i - 7) / 100}` }, decision: 'deny' });
      continue;
    }
    const slot = i % (SERVICES * ACTIONS);
    const topic = `svc${slot % SERVICES}.action${Math.floor(slot / SERVICES)}`;
    topics.add(topic);
    if (options.throttle && i % 25 === 1) {
      rules.push({ id, when: { topic }, decision: 'throttle', throttle: { limit: 1 + Math.floor(random() * 5), per: '1m', key: 'tenant' } });
      continue;
    }
    const threshold = 1000 * (1 + Math.floor(random() * 10));
    switch (Math.floor(i / (SERVICES * ACTIONS)) % 4) {
      case 0:
        rules.push({
          id,
          when: { topic, env: 'production', 'payload.amount': { gt: threshold } },
          decision: 'require_human',
          approval: { required: 2, reviewers: ['finance-approver'], timeout: '30m', on_timeout: 'reject' },
        });
        break;
      case 1:
        rules.push({ id, when: { topic, env: ['staging', 'dev'] }, decision: 'allow' });
        break;
      case 2:
        rules.push({
          id,
          when: { topic, region: { in: ['eu', 'us'] }, priority: 'high' },
          decision: 'require_human',
          approval: { required: 1, reviewers: [], timeout: '1d', on_timeout: 'reject' },
        });
        break;
      default:
        rules.push({ id, when: { topic, 'payload.amount': { lte: threshold } }, decision: 'allow' });
    }
  }
  const draft = { version: 'v1' as const, default: 'deny' as const, rules };
  const yaml = stringify(draft);
  const parsed = parsePolicy(yaml);
  if (!parsed.ok) throw new Error(`synthetic bundle does not validate: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  return { bundle: parsed.bundle, yaml, topics: [...topics] };
}

/**
 * Deterministic jobs for a synthetic bundle: mostly its topics (10% unknown ones), with labels
 * `env`, `region`, `risk`, tenants (some blocked) and a payload amount.
 */
export function syntheticJobs(policy: SyntheticPolicy, count: number, seed = 2): JobRequest[] {
  const random = mulberry32(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const jobs: JobRequest[] = [];
  for (let i = 0; i < count; i++) {
    const labels: Record<string, string> = {};
    const env = pick(['production', 'staging', 'dev', null]);
    if (env) labels.env = env;
    const region = pick(['eu', 'us', 'ap', null]);
    if (region) labels.region = region;
    const risk = pick(['high', 'low', null, null, null]);
    if (risk) labels.risk = risk;
    jobs.push({
      topic: random() < 0.9 ? pick(policy.topics) : `unknown${Math.floor(random() * 100)}.topic`,
      priority: pick(['normal', 'high']),
      tenant: pick(['acme', 'globex', 'initech', 'blocked-3']),
      submitted_by: pick(['agent-1', 'agent-2', 'ci']),
      labels,
      payload: { amount: Math.floor(random() * 12_000), currency: 'EUR' },
    });
  }
  return jobs;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
