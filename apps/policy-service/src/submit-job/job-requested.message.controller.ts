import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { ErrorCode, HEADERS, SignoffError, SignoffTopics } from '@signoff/contracts';
import { SIGNOFF_TOPICS } from '@signoff/core';
import { busMessage, InboundMessage, MessageBus } from '@signoff/messaging';
import { SubmitJobHandler } from './submit-job.handler';

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
]);

/**
 * Kafka ingress of job requests (`signoff.jobs.requested`, key = job_id): the same validation and
 * decisions as `POST /jobs`. Bad messages go to `signoff.jobs.requested.dlq` with `error-code` and
 * `error-detail` headers and never block the partition; a throttled request is dead-lettered too
 * (there is nobody to answer 429 to; upstream re-drives it from the DLQ). Denied jobs are recorded
 * as DENIED. Store or policy outages throw, so the bus retries the message: nothing is lost; an
 * evaluation over its budget (`policy_unavailable`, `reason: evaluation_budget_exceeded`) would
 * overrun again on every retry, so it is dead-lettered.
 * Redelivered duplicates are answered from the log (idempotent).
 */
@Controller()
export class JobRequestedMessageController {
  private readonly logger = new Logger('JobRequestedIngress');

  constructor(
    private readonly handler: SubmitJobHandler,
    private readonly bus: MessageBus,
    @Inject(SIGNOFF_TOPICS) private readonly topics: SignoffTopics,
  ) {}

  @EventPattern('jobs.requested')
  async onJobRequested(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
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
      const result = await this.handler.submit(body, { kind: 'kafka', subject: null, tenants: null, correlationId: `${message.topic}/${message.partition}/${message.offset}` });
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
    await this.bus.publish(this.topics.requestedDlq, [
      {
        key: message.key ?? '',
        value: message.value ?? Buffer.alloc(0),
        headers: {
          ...message.headers,
          [HEADERS.errorCode]: code,
          [HEADERS.errorDetail]: detail.slice(0, 4000),
          'original-topic': message.topic,
          'original-partition': String(message.partition),
          'original-offset': message.offset,
        },
      },
    ]);
  }
}
