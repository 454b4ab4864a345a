import { Module } from '@nestjs/common';
import { GetJobHttpController } from './get-job/get-job.http.controller';
import { PolicyHttpController } from './policy/policy.http.controller';
import { EvaluatedRelay } from './relay/evaluated.relay';
import { JobRequestedMessageController } from './submit-job/job-requested.message.controller';
import { SubmitJobHandler } from './submit-job/submit-job.handler';
import { SubmitJobHttpController } from './submit-job/submit-job.http.controller';

/**
 * The policy service's use cases: submit (HTTP and Kafka ingress), read a job, the policy
 * lifecycle. Needs the global CoreModule and AuthModule of its composition root.
 */
@Module({
  controllers: [SubmitJobHttpController, JobRequestedMessageController, GetJobHttpController, PolicyHttpController],
  providers: [SubmitJobHandler, EvaluatedRelay],
})
export class PolicyModule {}
