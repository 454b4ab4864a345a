import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Signoff's Prometheus metrics (DESIGN section 9; the names are fixed). All of them exist from the
 * start, at zero, so dashboards and alerts never see a missing series.
 */
@Injectable()
export class SignoffMetrics {
  readonly registry = new Registry();

  readonly approvalsAlreadyApproved = new Counter({
    name: 'signoff_approvals_already_approved_total',
    help: 'Approve calls answered already_approved (retries and duplicates).',
    registers: [this.registry],
  });
  readonly approvalsSnapshotMismatch = new Counter({
    name: 'signoff_approvals_snapshot_mismatch_total',
    help: 'Approvals refused because the policy snapshot or the job hash changed since the request.',
    registers: [this.registry],
  });
  readonly jobsReplayed = new Counter({
    name: 'signoff_jobs_replayed_total',
    help: 'Approved or allowed jobs republished by the replay consumer.',
    registers: [this.registry],
  });
  readonly approvalConflicts = new Counter({
    name: 'signoff_approval_conflicts_total',
    help: 'Expected-version conflicts retried by approval commands.',
    registers: [this.registry],
  });
  readonly policyDecisions = new Counter({
    name: 'signoff_policy_decisions_total',
    help: 'Submit-time policy decisions.',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly jobsDispatched = new Counter({
    name: 'signoff_jobs_dispatched_total',
    help: 'Jobs published to the dispatch topic.',
    registers: [this.registry],
  });
  readonly approvalsPending = new Gauge({
    name: 'signoff_approvals_pending',
    help: 'Approvals waiting for reviewers.',
    registers: [this.registry],
  });
  readonly policyEvaluationSeconds = new Histogram({
    name: 'signoff_policy_evaluation_seconds',
    help: 'Time to evaluate a job against the active policy.',
    buckets: [0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.1, 1, 5],
    registers: [this.registry],
  });
  readonly approvalToDispatchSeconds = new Histogram({
    name: 'signoff_approval_to_dispatch_seconds',
    help: 'Time from ApprovalGranted to the job being published for workers.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  /**
   * Not a DESIGN §9 name: added by issue 10 (permanent failures of consumed messages, DESIGN §12),
   * refusals of who produced a message among them (`unauthenticated`, `forbidden`,
   * `not_dispatched`: the one family for every dead letter, counted by the shared MessageDelivery
   * hook). `topic` is the consumed topic's full name (`signoff.jobs.results`).
   */
  readonly messagesDeadLettered = new Counter({
    name: 'signoff_messages_dead_lettered_total',
    help: 'Consumed messages moved to their dead-letter topic (<topic>.dlq): invalid, refused or unauthenticated; by consumed topic and error code.',
    labelNames: ['topic', 'code'] as const,
    registers: [this.registry],
  });

  /**
   * Not a DESIGN §9 name: added by issue 12 (outbound webhooks). One count per attempt:
   * `delivered` (a 2xx), `retried` (a failed attempt that will be tried again), `dead_lettered`
   * (the last failed attempt; recorded as WebhookDeliveryFailed in `webhook-<endpoint>`).
   */
  readonly webhookDeliveries = new Counter({
    name: 'signoff_webhook_deliveries_total',
    help: 'Outbound webhook delivery attempts by endpoint id and outcome (delivered, retried, dead_lettered).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 12. Time of one webhook request, whatever its outcome. */
  readonly webhookDeliverySeconds = new Histogram({
    name: 'signoff_webhook_delivery_seconds',
    help: 'Duration of one outbound webhook request (until the response status or the failure), by endpoint id.',
    labelNames: ['endpoint'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 12. Reminders recorded (ApprovalReminderSent), no labels. */
  readonly approvalReminders = new Counter({
    name: 'signoff_approval_reminders_total',
    help: 'Approval reminders recorded by escalation steps (ApprovalReminderSent).',
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 12. Escalations recorded (ApprovalEscalated), no labels. */
  readonly approvalEscalations = new Counter({
    name: 'signoff_approval_escalations_total',
    help: 'Approval escalations recorded by escalation steps (ApprovalEscalated: reviewer roles added).',
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 12. Names in the active policy's `notify` lists that match no configured target. */
  readonly notifyUnknownTargets = new Gauge({
    name: 'signoff_notify_unknown_targets',
    help: 'Notification targets named by the active policy (approval.notify, escalate[].notify) that match no configured webhook endpoint or Slack.',
    registers: [this.registry],
  });

  /** Not a DESIGN §9 name: added by issue 14. Events of the log the audit tree has not logged yet (counted up to 1,000,000). */
  readonly auditTreeLag = new Gauge({
    name: 'signoff_audit_tree_lag_events',
    help: 'Events of the global log not yet in the audit Merkle tree (counted up to 1,000,000).',
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 14. Leaves of the audit tree. */
  readonly auditTreeSize = new Gauge({
    name: 'signoff_audit_tree_size',
    help: 'Leaves of the audit Merkle tree (events logged).',
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 14. Signed tree heads made by this instance. */
  readonly auditTreeHeadsSigned = new Counter({
    name: 'signoff_audit_tree_heads_signed_total',
    help: 'Signed tree heads made by this instance (interval and on demand).',
    registers: [this.registry],
  });
  /** Not a DESIGN §9 name: added by issue 14. 1 while the tree cannot go on (the log changed under it, or the store fails). */
  readonly auditTreeStalled = new Gauge({
    name: 'signoff_audit_tree_stalled',
    help: '1 while the audit tree cannot extend itself (the logged events changed under it, or the store fails); alert on it.',
    registers: [this.registry],
  });

  /** Not a DESIGN §9 name: added by issue 15. 1 while this instance holds the lease of the durable subscription (handles it), 0 while it stands by. */
  readonly subscriptionOwner = new Gauge({
    name: 'signoff_subscription_owner',
    help: 'Durable event-store subscriptions (relays, webhook deliveries): 1 while this instance holds the lease and handles the subscription, 0 while it stands by.',
    labelNames: ['subscription'],
    registers: [this.registry],
  });

  constructor() {
    for (const decision of ['allow', 'deny', 'throttle', 'require_human']) this.policyDecisions.inc({ decision }, 0);
    collectDefaultMetrics({ register: this.registry, prefix: 'signoff_process_' });
  }

  /** The exposition text for `GET /metrics`. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}
