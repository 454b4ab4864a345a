import { Controller, Inject, Logger, OnModuleInit } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { HEADERS, jobRequestOf, SignoffError } from '@signoff/contracts';
import { SIGNOFF_CONFIG } from '@signoff/core';
import { busMessage, InboundMessage } from '@signoff/messaging';
import { hasAnyRole, JwtVerifier, Principal, SignoffConfig } from '@signoff/runtime';
import { SubmissionSource, SubmitJobCommand } from './submit-job.command';

/** Largest accepted value on `signoff.jobs.requested` (the HTTP body limit). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Kafka ingress of job requests (`signoff.jobs.requested`, key = job_id): the same authentication,
 * validation and decisions as `POST /jobs` (DESIGN section 12). The submitter is the subject of
 * the credential in the `authorization: Bearer <JWT>` header (verified like an HTTP token, role
 * `submitter`, its tenant scope applied); a message without a valid one is refused
 * `unauthenticated`, one with another role `forbidden`, and a body naming another `submitted_by`
 * `invalid_request`. Only on a trusted network (KAFKA_INGRESS_TRUSTED=true, off by default,
 * warned about at start) is a message without a credential taken with the `submitted_by` of its
 * body, as before.
 *
 * A bad message throws a SignoffError with its code (`unauthenticated`, `forbidden`,
 * `invalid_request`, `reserved_label`, `payload_too_large`, `job_request_changed`, `throttled`:
 * there is nobody to answer 429 to, upstream re-drives it), which the bus classifies as permanent
 * (`classifyFailure`, @signoff/messaging) and dead-letters to `signoff.jobs.requested.dlq` with
 * `error-code` and `error-detail` headers (the credential is never copied), counting it in
 * `signoff_messages_dead_lettered_total{topic,code}`; the partition moves on. Store, policy or
 * key-set outages (`store_unavailable`, `policy_unavailable`, `busy`, `auth_unavailable`) are
 * transient: the bus retries the message with back-off until they pass, nothing is lost; an
 * evaluation over its budget (`policy_unavailable` with `reason: evaluation_budget_exceeded`)
 * would overrun again on every retry, so the table classifies it as permanent. Denied jobs are
 * recorded as DENIED. Redelivered duplicates are answered from the log (idempotent).
 */
@Controller()
export class JobRequestedMessageController implements OnModuleInit {
  private readonly logger = new Logger('JobRequestedIngress');

  constructor(
    private readonly commands: CommandBus,
    private readonly verifier: JwtVerifier,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.kafkaIngressTrusted) {
      this.logger.warn(
        'KAFKA_INGRESS_TRUSTED=true: job requests on Kafka without a credential are taken with the submitted_by of their body. ' +
          'Anyone who can write the topic can then submit as anyone (and approve their own jobs). Use it on a trusted network only.',
      );
    }
  }

  /** Who submits: the verified credential of the message, or (trusted network only) nobody yet. */
  private async authenticate(message: InboundMessage): Promise<SubmissionSource> {
    const correlationId = `${message.topic}/${message.partition}/${message.offset}`;
    const header = message.headers[HEADERS.authorization];
    if (header === undefined && this.config.kafkaIngressTrusted) return { kind: 'kafka', subject: null, tenants: null, correlationId };
    let principal: Principal;
    try {
      principal = await this.verifier.verifyHeader(header);
    } catch (error) {
      if (error instanceof SignoffError && error.code === 'unauthenticated') {
        throw new SignoffError('unauthenticated', `job requests need the submitter's credential (authorization: Bearer <JWT>): ${error.message}`);
      }
      throw error; // auth_unavailable (the key set cannot be fetched): transient, retried
    }
    if (!hasAnyRole(principal, ['submitter'])) throw new SignoffError('forbidden', `${principal.sub} does not have the role submitter`);
    return { kind: 'kafka', subject: principal.sub, tenants: principal.tenants, correlationId };
  }

  @EventPattern('jobs.requested')
  async onJobRequested(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    // 1. who sends it; 2. what it says; 3. the same use case as POST /jobs.
    const source = await this.authenticate(message);
    if (message.value !== null && message.value.length > MAX_REQUEST_BYTES) {
      throw new SignoffError('payload_too_large', `the message is ${message.value.length} bytes; the limit is ${MAX_REQUEST_BYTES}`);
    }
    // The key is the job id (DESIGN §6); a value without job_id takes it from the key.
    const body = jobRequestOf(value, message.key);
    const result = await this.commands.execute(new SubmitJobCommand(body, source));
    if (result.status === 403) this.logger.log(`job ${String(body.job_id)} denied by ${String(result.error.extensions.rule_id)}`);
  }
}
