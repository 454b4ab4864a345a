/**
 * What other apps may use of the demo worker (`@signoff/demo-worker`): its side effect and the
 * worker-SDK mode around it, which the standalone runs in-process.
 */
export { DEMO_WORKER_PATHS } from './worker-http';
export { DEMO_MODES, demoWorkerMode, sideEffectTable, type DemoHandlerOptions, type DemoMode, type DemoWorkerMode } from './demo-side-effect';
