import { randomUUID } from 'node:crypto';
import { Inject, Logger } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { toSignoffError } from '@signoff/approvals';
import { FieldError, JobRef, jobRequestContentErrors, reservedLabelError, SignoffError, SubmitJobDto, validateMessage } from '@signoff/contracts';
import { ActivePolicy, Clock, commandMetadata, JobCommandHandler, NEW_JOB, newCommandId, SIGNOFF_CONFIG } from '@signoff/core';
import { inSpan, SignoffMetrics } from '@signoff/observability';
import { evaluate, Evaluation, EvaluationBudgetExceededError, jobHash, normalizeJobRequest, ThrottleCounter } from '@signoff/policy-engine';
import { SignoffConfig } from '@signoff/runtime';
import { submitJobCommand } from './submit-job.builder';
import { SubmissionSource, SubmitJobCommand, SubmitResult } from './submit-job.command';

/** Deeper payloads are refused with 400 before anything walks them recursively (shared with amended requests). */
export { MAX_PAYLOAD_DEPTH } from '@signoff/contracts';

/**
 * Submit-time policy, the one entry of `POST /jobs` and the Kafka ingress alike:
 * 1. validate (400 invalid_request with per-field errors, 400 reserved_label);
 * 2. an existing job id of the same tenant is answered from the log (the original answer, or 409
 *    job_request_changed) without evaluating or counting anything again; the same id in another
 *    tenant is another job;
 * 3. evaluate under the active policy within the timeout (503 policy_unavailable, nothing stored);
 *    throttled -> 429, nothing stored;
 * 4. store JobSubmitted + PolicyEvaluated (+ ApprovalRequested) with an expected-revision append;
 *    only then answer (503 store_unavailable if the store fails: never a success for a job that
 *    was not recorded). Denied jobs are recorded too (audit) and answered 403 policy_denied.
 */
@CommandHandler(SubmitJobCommand)
export class SubmitJobHandler implements ICommandHandler<SubmitJobCommand> {
  private readonly logger = new Logger('SubmitJob');

  constructor(
    private readonly commands: JobCommandHandler,
    private readonly policy: ActivePolicy,
    private readonly throttle: ThrottleCounter,
    private readonly clock: Clock,
    private readonly metrics: SignoffMetrics,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
  ) {}

  async execute({ body, source }: SubmitJobCommand): Promise<SubmitResult> {
    const dto = this.validate(body, source);
    const submittedBy = source.subject ?? dto.submitted_by!;
    const request = normalizeJobRequest({ ...dto, submitted_by: submittedBy });
    if (source.tenants !== null && !source.tenants.includes(request.tenant)) {
      throw new SignoffError('forbidden', `you may not submit jobs for tenant ${request.tenant}`);
    }
    const hash = jobHash(request);
    const jobId = dto.job_id ?? randomUUID();
    // Job ids are scoped by tenant (DESIGN section 12): another tenant's job of the same id is
    // another job, never an answer, a conflict or a squatted id for this one.
    const ref: JobRef = { tenant: request.tenant, jobId };

    // 2. A known job id is answered from the log, before any evaluation or throttle count.
    const existing = dto.job_id ? await this.commands.load(ref) : null;
    if (existing?.foreign) {
      // Only in logs written before job ids were scoped by tenant: the default tenant's stream of
      // this id holds another tenant's job. The id is taken; nothing about that job is said.
      throw new SignoffError('job_request_changed', `job ${jobId} was recorded before job ids were scoped by tenant and cannot be submitted again`);
    }
    const known = existing !== null && existing.state.status !== 'initial' && existing.state.status !== 'submitted';

    const policy = this.policy.get();
    const evaluation = known
      ? null
      : await inSpan('policy.evaluate', { attributes: { 'signoff.job.topic': request.topic, 'signoff.policy.snapshot': policy.snapshot } }, async (span) => {
          const outcome = await this.evaluateWithTimeout(policy.compiled, request);
          span.setAttribute('signoff.policy.decision', outcome.decision);
          if (outcome.rule_id) span.setAttribute('signoff.policy.rule_id', outcome.rule_id);
          return outcome;
        });
    if (evaluation?.decision === 'throttle') {
      throw new SignoffError('throttled', `rate limit of rule ${evaluation.rule_id} exceeded`, { rule_id: evaluation.rule_id, retry_after: evaluation.retry_after_seconds }, {
        'Retry-After': String(evaluation.retry_after_seconds),
      });
    }

    // One time for every attempt: the submission is stamped when it was evaluated.
    const commandId = newCommandId();
    const approvalRef = `apr_${randomUUID()}`;
    const metadata = commandMetadata(this.clock, { actor: submittedBy, commandId, correlationId: source.correlationId });
    const input = { jobId, request, jobHash: hash, policy, evaluation, approvalRef, metadata };
    const { result } = await this.commands.execute(ref, (state) => submitJobCommand(input, state), { loaded: existing ?? NEW_JOB });
    if (!result.ok) throw toSignoffError(result);
    const answer = result.outcome.status === 'duplicate' ? result.outcome.answer : result.outcome;
    if (result.outcome.status !== 'duplicate' && evaluation) this.metrics.policyDecisions.inc({ decision: evaluation.decision });
    if (answer.status === 'denied') {
      return {
        status: 403,
        error: new SignoffError('policy_denied', answer.reason || `denied by ${answer.rule_id ?? 'the default decision'}`, {
          job_id: answer.job_id,
          rule_id: answer.rule_id,
          policy_snapshot: answer.policy_snapshot,
          job_hash: answer.job_hash,
        }),
      };
    }
    return { status: 202, body: answer };
  }

  /**
   * Evaluates within the configured budget (each synchronous stretch, 100 ms) and timeout (the
   * whole evaluation, awaits included, 5 s): fail closed with 503 policy_unavailable.
   */
  private async evaluateWithTimeout(policy: Parameters<typeof evaluate>[0], request: Parameters<typeof evaluate>[1]): Promise<Evaluation> {
    const started = process.hrtime.bigint();
    let evaluation: Evaluation;
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = evaluate(policy, request, { counter: this.throttle, now: this.clock.now().getTime() }, { budgetMs: this.config.policyEvaluationBudgetMs });
      evaluation =
        pending instanceof Promise
          ? await Promise.race([
              pending,
              new Promise<never>((_, reject) => {
                timer = setTimeout(
                  () => reject(new SignoffError('policy_unavailable', `policy evaluation exceeded ${this.config.policyEvaluationTimeoutMs} ms`, {}, { 'Retry-After': '5' })),
                  this.config.policyEvaluationTimeoutMs,
                );
              }),
            ])
          : pending;
    } catch (error) {
      throw policyUnavailable(error, this.logger);
    } finally {
      clearTimeout(timer);
    }
    this.metrics.policyEvaluationSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (evaluation.decision === 'throttle') this.metrics.policyDecisions.inc({ decision: 'throttle' });
    return evaluation;
  }

  private validate(body: unknown, source: SubmissionSource): SubmitJobDto {
    const result = validateMessage(SubmitJobDto, body);
    const errors: FieldError[] = result.ok ? [] : [...result.errors];
    const raw = (body ?? {}) as Record<string, unknown>;
    if (source.kind === 'http' && raw.submitted_by !== undefined) {
      errors.push({ field: 'submitted_by', message: 'submitted_by is taken from the token over HTTP; do not send it' });
    }
    // Kafka with a credential: the submitter is its subject; a body naming someone else is refused.
    if (source.kind === 'kafka' && source.subject !== null && raw.submitted_by !== undefined && raw.submitted_by !== source.subject) {
      errors.push({ field: 'submitted_by', message: 'submitted_by is taken from the credential in the authorization header and differs from it' });
    }
    if (source.kind === 'kafka' && source.subject === null && (typeof raw.submitted_by !== 'string' || raw.submitted_by === '')) {
      errors.push({ field: 'submitted_by', message: 'submitted_by is required on signoff.jobs.requested without a credential (KAFKA_INGRESS_TRUSTED)' });
    }
    // The content checks every request shares (labels, payload depth; reserved names apart).
    const content = jobRequestContentErrors(raw);
    errors.push(...content.errors);
    if (content.reserved.length > 0) throw reservedLabelError(content.reserved);
    if (errors.length > 0 || !result.ok) throw new SignoffError('invalid_request', 'the job request is invalid', { errors });
    return result.value;
  }
}

/** Where the cause of an evaluation failure goes when the caller has no logger of its own (the dry run). */
const evaluationLogger = new Logger('PolicyEvaluation');

/**
 * An evaluation that produced no outcome, as the 503 `policy_unavailable` a client gets (fail
 * closed, nothing stored). A budget overrun says so in `reason: evaluation_budget_exceeded` and
 * carries no Retry-After: the same job under the same policy will overrun again. Any other cause
 * (a throttle counter's database error, say) is for the log, not the client: a fixed detail.
 */
export function policyUnavailable(error: unknown, logger: Pick<Logger, 'error'> = evaluationLogger): SignoffError {
  if (error instanceof SignoffError) return error;
  if (error instanceof EvaluationBudgetExceededError) {
    return new SignoffError('policy_unavailable', error.message, { reason: 'evaluation_budget_exceeded' });
  }
  logger.error(`policy evaluation failed: ${(error as Error).stack ?? String(error)}`);
  return new SignoffError('policy_unavailable', 'policy evaluation failed; retry shortly', {}, { 'Retry-After': '5' });
}
