import { DynamicModule, Module } from '@nestjs/common';
import { GetJobHttpController } from './get-job/get-job.http.controller';
import { ListJobsHttpController } from './list-unknown-jobs/list-jobs.http.controller';
import { UnknownJobsQuery } from './list-unknown-jobs/unknown-jobs.query';
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
  providers: [SubmitJobHandler, EvaluatedRelay, UnknownJobsQuery, ResolveJobHandler],
})
export class PolicyModule {
  /** The module as a composition root imports it (it has no tunables of its own yet). */
  static forRoot(): DynamicModule {
    return { module: PolicyModule };
  }
}
