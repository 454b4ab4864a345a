/** Test kit of the approval service (`@signoff/approval-service/testing`): specs and benchmarks only. */
export * from './approval-test.app';
export * from './grpc.client';
export * from './job.fixture';
export * from './policy-view';
export * from './sse.client';
export * from './test-policies';
export * from './webhook-receiver';
