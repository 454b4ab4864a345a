import { Controller, Inject, Logger, OnModuleInit } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ErrorCode, HEADERS, SignoffError, SignoffTopics } from '@signoff/contracts';
import { SIGNOFF_CONFIG, SIGNOFF_TOPICS } from '@signoff/core';
import { busMessage, InboundMessage, MessageBus, toDeadLetter } from '@signoff/messaging';
import { SignoffMetrics } from '@signoff/observability';
import { hasAnyRole, JwtVerifier, SignoffConfig } from '@signoff/runtime';
import { SubmissionSource, SubmitJobHandler } from './submit-job.handler';

/** Largest accepted value on `signoff.jobs.requested` (the HTTP body limit). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/** Outcomes that are a verdict on the message itself: it goes to the DLQ, the partition moves on. */
const DEAD_LETTER_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'invalid_request',
  'reserved_label',
  'payload_too_large',
  'job_request_changed',
  'throttled',
  'forbidden',
  'unauthenticated',
]);

/** Refusals of who sent the message (counted in `signoff_messages_refused_total`). */
const TRUST_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['unauthenticated', 'forbidden']);

/**
 * Kafka ingress of job requests (`signoff.jobs.requested`, key = job_id): the same authentication,
 * validation and decisions as `POST /jobs` (DESIGN section 12). The submitter is the subject of
 * the credential in the `authorization: Bearer <JWT>` header (verified like an HTTP token, role
 * `submitter`, its tenant scope applied); a message without a valid one is dead-lettered
 * `unauthenticated`, one with another role `forbidden`, and a body naming another `submitted_by`
 * `invalid_request`. Only on a trusted network (KAFKA_INGRESS_TRUSTED=true, off by default,
 * warned about at start) is a message without a credential taken with the `submitted_by` of its
 * body, as before. Bad messages go to `signoff.jobs.requested.dlq` with `error-code` and
 * `error-detail` headers and never block the partition; a throttled request is dead-lettered too
 * (there is nobody to answer 429 to; upstream re-drives it from the DLQ). Denied jobs are recorded
 * as DENIED. Store or policy outages throw, so the bus retries the message: nothing is lost; an
 * evaluation over its budget (`policy_unavailable`, `reason: evaluation_budget_exceeded`) would
 * overrun again on every retry, so it is dead-lettered.
 * Redelivered duplicates are answered from the log (idempotent).
 */
@Controller()
export class JobRequestedMessageController implements OnModuleInit {
  private readonly logger = new Logger('JobRequestedIngress');

  constructor(
    private readonly handler: SubmitJobHandler,
    private readonly bus: MessageBus,
    @Inject(SIGNOFF_TOPICS) private readonly topics: SignoffTopics,
    private readonly verifier: JwtVerifier,
    private readonly metrics: SignoffMetrics,
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
  private async authenticate(message: InboundMessage): Promise<SubmissionSource | { refused: ErrorCode; detail: string }> {
    const correlationId = `${message.topic}/${message.partition}/${message.offset}`;
    const header = message.headers[HEADERS.authorization];
    if (header === undefined && this.config.kafkaIngressTrusted) return { kind: 'kafka', subject: null, tenants: null, correlationId };
    try {
      const principal = await this.verifier.verifyHeader(header);
      if (!hasAnyRole(principal, ['submitter'])) return { refused: 'forbidden', detail: `${principal.sub} does not have the role submitter` };
      return { kind: 'kafka', subject: principal.sub, tenants: principal.tenants, correlationId };
    } catch (error) {
      if (error instanceof SignoffError && error.code === 'unauthenticated') {
        return { refused: 'unauthenticated', detail: `job requests need the submitter's credential (authorization: Bearer <JWT>): ${error.message}` };
      }
      throw error;
    }
  }

  @EventPattern('jobs.requested')
  async onJobRequested(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    // 1. who sends it; 2. what it says; 3. the same use case as POST /jobs.
    const source = await this.authenticate(message);
    if ('refused' in source) return this.deadLetter(message, source.refused, source.detail);
    if (message.value !== null && message.value.length > MAX_REQUEST_BYTES) {
      return this.deadLetter(message, 'payload_too_large', `the message is ${message.value.length} bytes; the limit is ${MAX_REQUEST_BYTES}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return this.deadLetter(message, 'invalid_request', 'the message value is not a JSON object');
    }
    const body = { ...(value as Record<string, unknown>) };
    // The key is the job id (DESIGN §6); a value without job_id takes it from the key.
    if (body.job_id === undefined && message.key) body.job_id = message.key;
    else if (message.key && body.job_id !== message.key) {
      return this.deadLetter(message, 'invalid_request', `job_id ${String(body.job_id)} differs from the message key ${message.key}`);
    }
    try {
      const result = await this.handler.submit(body, source);
      if (result.status === 403) this.logger.log(`job ${String(body.job_id)} denied by ${String(result.error.extensions.rule_id)}`);
    } catch (error) {
      if (error instanceof SignoffError && DEAD_LETTER_CODES.has(error.code)) {
        const detail = error.extensions.errors ? `${error.message}: ${JSON.stringify(error.extensions.errors)}` : error.message;
        return this.deadLetter(message, error.code, detail);
      }
      // An evaluation over its budget overruns again on every retry (same job, same policy).
      if (error instanceof SignoffError && error.code === 'policy_unavailable' && error.extensions.reason === 'evaluation_budget_exceeded') {
        return this.deadLetter(message, error.code, error.message);
      }
      if (error instanceof SignoffError) throw error; // store/policy unavailable, busy: retried by the bus, never dropped
      // An unexpected failure on this message is a bug, not an outage: park the message in the DLQ
      // (nothing lost, the partition moves on) instead of retrying it forever.
      this.logger.error(`unexpected failure on ${message.topic}[${message.partition}]@${message.offset}: ${(error as Error).stack ?? String(error)}`);
      return this.deadLetter(message, 'internal', `unexpected error: ${(error as Error).message}`);
    }
  }

  private async deadLetter(message: InboundMessage, code: ErrorCode, detail: string): Promise<void> {
    this.logger.warn(`dead-lettering ${message.topic}[${message.partition}]@${message.offset}: ${code}: ${detail.slice(0, 500)}`);
    // The submitter's credential is not copied into the dead letter.
    await this.bus.publish(this.topics.requestedDlq, [toDeadLetter(message, code, detail)]);
    if (TRUST_CODES.has(code)) this.metrics.messagesRefused.inc({ topic: 'jobs.requested', code });
  }
}
