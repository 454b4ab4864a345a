/** Test kit of the dispatch service (`@signoff/dispatch-service/testing`): specs, e2e tests and benchmarks only. */
export * from './dispatch.test-kit';
/** The resolved dispatch settings as the dispatcher and the replay consumer receive them (inspecting a composition). */
export { DISPATCH_OPTIONS, type ResolvedDispatchOptions } from '../dispatch.options';
