import { DynamicModule, Module } from '@nestjs/common';
import { cqrsHandlers } from '@signoff/core';
import { ApproveGrpcController } from './approve/approve.grpc.controller';
import { ApproveHandler } from './approve/approve.handler';
import { ApproveHttpController } from './approve/approve.http.controller';
import { DELEGATION_CONTROLLERS, DELEGATION_HANDLERS, DELEGATION_PROVIDERS } from './delegation/delegation.wiring';
import { ApprovalExpiryScheduler } from './expiry/approval-expiry.scheduler';
import { ConsoleAuth } from './console/console-auth';
import { ConsoleIdentityProvider, PastedTokenIdentityProvider } from './console/console-identity';
import { ConsoleHttpController } from './console/console.http.controller';
import { GetApprovalGrpcController } from './get-approval/get-approval.grpc.controller';
import { GetApprovalHttpController } from './get-approval/get-approval.http.controller';
import { GetApprovalHandler } from './get-approval/get-approval.handler';
import { GrpcAuth } from './grpc/grpc-auth';
import { GrpcHealthController } from './grpc-health/grpc-health.controller';
import { JobEventsHttpController } from './job-events/job-events.http.controller';
import { JobEventsHandler } from './job-events/job-events.handler';
import { ListApprovalsGrpcController } from './list-approvals/list-approvals.grpc.controller';
import { ListApprovalsHttpController } from './list-approvals/list-approvals.http.controller';
import { ListApprovalsHandler } from './list-approvals/list-approvals.handler';
import { ApprovedRelay } from './projections/approved.relay';
import { PendingApprovalsProjection } from './projections/pending-approvals.projection';
import { RejectGrpcController } from './reject/reject.grpc.controller';
import { RejectHandler } from './reject/reject.handler';
import { RejectHttpController } from './reject/reject.http.controller';
import { ApprovalIntegrity } from './shared/approval-integrity';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions } from './shared/approval-options';
import { WatchApprovalsGrpcController } from './watch-approvals/watch-approvals.grpc.controller';
import { WatchApprovalsHandler } from './watch-approvals/watch-approvals.handler';
import { WatchApprovalsHttpController } from './watch-approvals/watch-approvals.http.controller';
import { WebhookDeliveries } from './webhooks/webhook-deliveries.service';

/**
 * The approval service's use cases: approve, reject, list and read approvals, a job's history,
 * the WatchApprovals stream (gRPC and SSE), the reviewer console (`/console`), expiry, the pending-approvals projection with drift
 * detection and the `signoff.jobs.approved` relay, and the outbound webhooks (one checkpointed
 * subscription per configured endpoint). Needs the global CoreModule and AuthModule of its composition
 * root (this service's ApprovalServiceModule, or apps/standalone). The gRPC controllers only serve once the
 * composition root connects the gRPC transport (`connectApprovalsGrpc`).
 */
@Module({
  controllers: [
    ApproveHttpController,
    RejectHttpController,
    ListApprovalsHttpController,
    GetApprovalHttpController,
    JobEventsHttpController,
    WatchApprovalsHttpController,
    ApproveGrpcController,
    RejectGrpcController,
    ListApprovalsGrpcController,
    GetApprovalGrpcController,
    WatchApprovalsGrpcController,
    GrpcHealthController,
    ...DELEGATION_CONTROLLERS,
    // The reviewer console (/console): pages over the same queries and commands.
    ConsoleHttpController,
  ],
  providers: [
    ApprovalIntegrity,
    // One handler per use case, whatever the transport, registered on the CommandBus / QueryBus.
    ...cqrsHandlers('ApprovalModule', {
      commands: [ApproveHandler, RejectHandler, ...DELEGATION_HANDLERS.commands],
      queries: [ListApprovalsHandler, GetApprovalHandler, JobEventsHandler, WatchApprovalsHandler, ...DELEGATION_HANDLERS.queries],
    }),
    GrpcAuth,
    PendingApprovalsProjection,
    ApprovalExpiryScheduler,
    ApprovedRelay,
    WebhookDeliveries,
    ...DELEGATION_PROVIDERS,
    { provide: ConsoleIdentityProvider, useClass: PastedTokenIdentityProvider },
    ConsoleAuth,
  ],
  exports: [PendingApprovalsProjection, ApprovalExpiryScheduler],
})
export class ApprovalModule {
  /** The module with its tunables (defaults suit production; tests: a faster expiry sweep). */
  static forRoot(options: ApprovalModuleOptions = {}): DynamicModule {
    return { module: ApprovalModule, providers: [{ provide: APPROVAL_MODULE_OPTIONS, useValue: options }] };
  }
}
