export * from './message-record';
export * from './job-requested.message';
export * from './job-evaluated.message';
export * from './job-approved.message';
export * from './release-notice';
export * from './job-dispatch.message';
export * from './job-result.message';
export * from './audit.message';
