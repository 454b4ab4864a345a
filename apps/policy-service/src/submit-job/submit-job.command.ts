import { Command } from '@nestjs/cqrs';
import type { SubmitAnswer } from '@signoff/approvals';
import type { SignoffError } from '@signoff/contracts';

/** Where a submission came from: the HTTP API (submitter = token subject) or Kafka ingress. */
export interface SubmissionSource {
  readonly kind: 'http' | 'kafka';
  /**
   * The verified credential's subject (HTTP: the token; Kafka: the message's `authorization`
   * header), or null on a trusted network only (Kafka with KAFKA_INGRESS_TRUSTED=true and no
   * credential: the message's `submitted_by` is required and taken as it is).
   */
  readonly subject: string | null;
  /** Tenants the caller may submit into (null = all). */
  readonly tenants: readonly string[] | null;
  readonly correlationId?: string;
}

/** A stored (or re-answered) submission: the 202 body, or a denial answered 403. */
export type SubmitResult = { readonly status: 202; readonly body: SubmitAnswer } | { readonly status: 403; readonly error: SignoffError };

/**
 * Submit a job (`POST /jobs` and the `signoff.jobs.requested` ingress), on the CommandBus. `body`
 * is the request as received: the handler validates it, with rules that depend on `source`.
 */
export class SubmitJobCommand extends Command<SubmitResult> {
  constructor(
    readonly body: unknown,
    readonly source: SubmissionSource,
  ) {
    super();
  }
}
