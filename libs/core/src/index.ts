/**
 * @signoff/core: the application services every Signoff service shares: the job command handler
 * (read, fold, decide, append with the expected revision, retry on conflicts), the active policy
 * from the event log, shared throttle counters, the event relay to Kafka, the clock,
 * the one factory of command metadata, and the CommandBus/QueryBus with `cqrsHandlers`, which
 * registers a feature module's use-case handlers on them.
 */
export { Clock, SystemClock } from './clock';
export { commandMetadata, newCommandId, type CommandOrigin } from './command-metadata';
export { cqrsHandlers, type CqrsHandlerSet } from './cqrs-handlers';
export { storeErrorToSignoffError } from './store-errors';
export { JobCommandHandler, MAX_COMMAND_ATTEMPTS, NEW_JOB, latestTraceparent, type LoadedJob, type ExecuteResult } from './job-command.handler';
export { ActivePolicy, activationNumber, type ActivePolicyView, type ActivePolicyOptions } from './active-policy.service';
export { PostgresThrottleCounter } from './postgres-throttle.counter';
export {
  EventRelay,
  eventRelayProvider,
  type EventRelayDefinition,
  type EventRelayDefinitionFactory,
  type EventRelayMapper,
  type EventRelayOptions,
} from './event-relay';
export { CoreModule, SIGNOFF_CONFIG, SIGNOFF_TOPICS, type CoreModuleOptions } from './core.module';
export { AuditRelay } from './audit/audit.relay';
export { toCloudEvent, cloudEventType } from './audit/cloud-event.mapper';
export {
  AUDIT_REDACT,
  HistoryRedaction,
  redactEventData,
  redactRequest,
  redactResult,
  redactionPathsFor,
  UNKNOWN_POLICY_REDACTION,
  type DecidingRule,
} from './audit/history-redaction';
export { RuleRedactions } from './audit/rule-redactions';
export { existingJob, jobNotFound, requestedJobRef, visibleJob, type ExistingJob } from './access/job-access';
export {
  AUDIT_DECISIONS,
  AUDIT_EVENT_TYPES,
  decisionOf,
  matchesAuditFilter,
  parseAuditFilter,
  tenantOfEvent,
  type AuditDecision,
  type AuditFilter,
  type AuditFilterInput,
} from './audit/audit-filter';
