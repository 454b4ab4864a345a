/**
 * @signoff/policy-engine/testing: test fixtures for specs and benchmarks, kept out of the
 * production barrel (`@signoff/policy-engine`).
 */
export { syntheticPolicy, syntheticJobs, type SyntheticPolicy } from './synthetic-policy.fixture';
