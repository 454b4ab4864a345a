import { Controller } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { DEFAULT_TENANT, HEADERS, JobRef, jobResultOf, SignoffError } from '@signoff/contracts';
import { busMessage } from '@signoff/messaging';
import { hasAnyRole, JwtVerifier, Principal } from '@signoff/runtime';
import { RecordJobResultCommand } from './record-job-result.command';

/** The role a result's credential must carry (DESIGN section 12). */
export const WORKER_ROLE = 'worker';

/**
 * Records the workers' reports from `signoff.jobs.results` as JobStarted / JobCompleted /
 * JobOutcomeUnknown (`unknown`: a worker found the claim's lease lost after the side effect began,
 * with no outcome recorded, for a handler that is not idempotent; the job becomes UNKNOWN), and only
 * reports a worker can prove it sent about a dispatch that happened (DESIGN section 12):
 * 1. the `authorization: Bearer <JWT>` header is a worker's credential, verified as HTTP tokens are
 *    (`unauthenticated`), with the role `worker` (`forbidden`);
 * 2. the value is a valid result message whose `job_id` is its key (`invalid_request`);
 * 3. the decider accepts it (RecordJobResultHandler, on the CommandBus): the credential's tenants cover the job (`forbidden`), the attempt and
 *    idempotency key are the ones the job's stream recorded as dispatched (`not_dispatched`), a
 *    second result does not contradict the first (`invalid_request`), the store takes its values
 *    (a NUL byte in `result` or `error`: `invalid_request`). An `unknown` report is checked exactly
 *    like `started`, `succeeded` and `failed`.
 * A refused report throws a SignoffError with its code; the bus classifies it as permanent
 * (`classifyFailure`, @signoff/messaging) and dead-letters it to `signoff.jobs.results.dlq` with
 * `error-code` and `error-detail` (the credential is never copied), counts it in
 * `signoff_messages_dead_lettered_total{topic,code}`, and the partition moves on; it changes no
 * job. Store outages, contention and an unreachable key set (`auth_unavailable`) are transient:
 * the bus retries the report until they pass. Repeated reports (redeliveries, duplicates) are
 * idempotent. The recorded actor is the credential's subject; `worker` in the value only names the
 * instance.
 */
@Controller()
export class JobResultsMessageController {
  constructor(
    private readonly commands: CommandBus,
    private readonly verifier: JwtVerifier,
  ) {}

  @EventPattern('jobs.results')
  async onResult(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    // 1. who sent it
    let principal: Principal;
    try {
      principal = await this.verifier.verifyHeader(message.headers[HEADERS.authorization]);
    } catch (error) {
      if (error instanceof SignoffError && error.code === 'unauthenticated') throw new SignoffError('unauthenticated', `no valid worker credential: ${error.message}`);
      throw error; // auth_unavailable: transient, retried
    }
    if (!hasAnyRole(principal, [WORKER_ROLE])) throw new SignoffError('forbidden', `${principal.sub} does not have the role ${WORKER_ROLE}`);

    // 2. what it says
    const report = jobResultOf(value, message.key);
    // The tenant of the dispatch the worker ran; reports of older workers name none (default).
    const ref: JobRef = { tenant: report.tenant ?? DEFAULT_TENANT, jobId: report.job_id };

    // 3. whether it describes a dispatch of this job's stream
    await this.commands.execute(new RecordJobResultCommand(principal, ref, report));
  }
}
