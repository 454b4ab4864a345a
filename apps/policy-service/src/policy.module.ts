import { DynamicModule, Module } from '@nestjs/common';
import { cqrsHandlers } from '@signoff/core';
import { GetJobHttpController } from './get-job/get-job.http.controller';
import { ListJobsHttpController } from './list-unknown-jobs/list-jobs.http.controller';
import { UnknownJobsHandler } from './list-unknown-jobs/unknown-jobs.handler';
import { GetJobHandler } from './get-job/get-job.handler';
import { ActivatePolicyHandler } from './policy/activate-policy.handler';
import { EvaluatePolicyHandler } from './policy/evaluate-policy.handler';
import { GetPolicyHandler } from './policy/get-policy.handler';
import { PolicyHttpController } from './policy/policy.http.controller';
import { ResolveJobHandler } from './resolve-job/resolve-job.handler';
import { ResolveJobHttpController } from './resolve-job/resolve-job.http.controller';
import { EvaluatedRelay } from './relay/evaluated.relay';
import { JobRequestedMessageController } from './submit-job/job-requested.message.controller';
import { SubmitJobHandler } from './submit-job/submit-job.handler';
import { SubmitJobHttpController } from './submit-job/submit-job.http.controller';

/**
 * The policy service's use cases: submit (HTTP and Kafka ingress), read a job, list and resolve
 * the jobs whose outcome is UNKNOWN (the operator's side of the job API), the policy lifecycle.
 * Needs the global CoreModule and AuthModule of its composition root.
 */
@Module({
  controllers: [
    SubmitJobHttpController,
    JobRequestedMessageController,
    ListJobsHttpController,
    GetJobHttpController,
    ResolveJobHttpController,
    PolicyHttpController,
  ],
  providers: [
    // One handler per use case, whatever the transport, registered on the CommandBus / QueryBus.
    ...cqrsHandlers('PolicyModule', {
      commands: [SubmitJobHandler, ResolveJobHandler, ActivatePolicyHandler],
      queries: [GetJobHandler, UnknownJobsHandler, GetPolicyHandler, EvaluatePolicyHandler],
    }),
    EvaluatedRelay,
  ],
})
export class PolicyModule {
  /** The module as a composition root imports it (it has no tunables of its own yet). */
  static forRoot(): DynamicModule {
    return { module: PolicyModule };
  }
}
