/**
 * What other apps may use of the dispatch service (`@signoff/dispatch-service`): its feature
 * module and options, for a composition root that hosts it (apps/standalone), its own root
 * module, and the read-only replay preview the operator CLI prints.
 */
export { DispatchModule } from './dispatch.module';
export { DISPATCH_CONFIG_DEFAULTS, DispatchServiceModule, signingKeysFromConfig } from './app.module';
export { dispatchOptionsFromConfig, type DispatchFault, type DispatchOptions, type DispatchSigning, type FaultPoint } from './dispatch.options';
export { listReplayCandidates, type ReplayDryRunOptions } from './replay/replay-dry-run';
