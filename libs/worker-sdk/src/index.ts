/**
 * @signoff/worker-sdk: consume dispatched jobs, verify their integrity, run side effects exactly
 * once. Implemented by the dispatch issue; this barrel exists so the workspace layout is complete.
 */
export const WORKER_SDK_VERSION = '0.1.0';
