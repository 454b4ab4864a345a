/** Test kit of the policy service (`@signoff/policy-service/testing`): specs and benchmarks only. */
export { seedUnknownJob } from './unknown-job.fixture';
