/** Test kit of the dispatch service (`@signoff/dispatch-service/testing`): specs, e2e tests and benchmarks only. */
export * from './dispatch.test-kit';
