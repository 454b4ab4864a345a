import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { SignoffError } from '@signoff/contracts';
import { busMessage } from '@signoff/messaging';
import { SubmitJobHandler } from './submit-job.handler';

/** Largest accepted value on `signoff.jobs.requested` (the HTTP body limit). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * Kafka ingress of job requests (`signoff.jobs.requested`, key = job_id): the same validation and
 * decisions as `POST /jobs`. A bad message throws a SignoffError with its code (`invalid_request`,
 * `reserved_label`, `payload_too_large`, `job_request_changed`, `throttled`: there is nobody to
 * answer 429 to, upstream re-drives it), which the bus transport classifies as permanent and
 * dead-letters to `signoff.jobs.requested.dlq` with `error-code` and `error-detail` headers; the
 * partition moves on. Store or policy outages (`store_unavailable`, `policy_unavailable`, `busy`)
 * are transient: the bus retries the message with back-off until it passes, nothing is lost.
 * Denied jobs are recorded as DENIED. Redelivered duplicates are answered from the log (idempotent).
 */
@Controller()
export class JobRequestedMessageController {
  private readonly logger = new Logger('JobRequestedIngress');

  constructor(private readonly handler: SubmitJobHandler) {}

  @EventPattern('jobs.requested')
  async onJobRequested(@Payload() value: unknown, @Ctx() context: unknown): Promise<void> {
    const message = busMessage(context);
    if (message.value !== null && message.value.length > MAX_REQUEST_BYTES) {
      throw new SignoffError('payload_too_large', `the message is ${message.value.length} bytes; the limit is ${MAX_REQUEST_BYTES}`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new SignoffError('invalid_request', 'the message value is not a JSON object');
    }
    const body = { ...(value as Record<string, unknown>) };
    // The key is the job id (DESIGN §6); a value without job_id takes it from the key.
    if (body.job_id === undefined && message.key) body.job_id = message.key;
    else if (message.key && body.job_id !== message.key) {
      throw new SignoffError('invalid_request', `job_id ${String(body.job_id)} differs from the message key ${message.key}`);
    }
    const result = await this.handler.submit(body, { kind: 'kafka', subject: null, tenants: null, correlationId: `${message.topic}/${message.partition}/${message.offset}` });
    if (result.status === 403) this.logger.log(`job ${String(body.job_id)} denied by ${String(result.error.extensions.rule_id)}`);
  }
}
