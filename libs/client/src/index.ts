/**
 * @signoff/client: the Signoff API for agents, reviewer tools and workers, on Node's fetch only.
 * `SignoffClient` submits, reads, waits for decisions (SSE with resume, else polling), approves
 * and rejects; every error is a `SignoffApiError` with the API's problem+json `code`.
 * `verifyGrant` checks a dispatched job's signed grant for workers without the worker SDK.
 * The agent-framework adapters are separate entries (`@signoff/client/openai-agents`,
 * `@signoff/client/ai-sdk`) so this one loads no framework.
 */
export { SignoffClient, type SignoffClientOptions, type RequestOptions, type WaitOptions } from './signoff.client';
export { SignoffApiError, parseRetryAfter, type ClientErrorCode, type SignoffErrorCode } from './signoff-api.error';
export { decisionOf, type Decision, type DecisionOutcome, type WaitUntil } from './decision';
export type { RetryOptions, TokenSource } from './http.transport';
export type { WatchOptions } from './approval-stream';
export { verifyGrant, type DispatchRecord, type VerifyGrantOptions } from './grant.verifier';
export type {
  JobRequest,
  SubmitAnswer,
  AcceptedAnswer,
  ApprovalRequiredAnswer,
  ApproveInput,
  ApproveJobOutcome,
  RejectInput,
  RejectJobOutcome,
  ApprovalChange,
  ApprovalPage,
  JobView,
  JobState,
} from './api.types';
export type { DispatchedJob } from '@signoff/worker-sdk';
export { askSignoff, submitToolCall, verdictOfJob, toolJobId, type SubmittedJob, type ToolCall, type ToolGateOptions, type ToolVerdict } from './tool-gate';
