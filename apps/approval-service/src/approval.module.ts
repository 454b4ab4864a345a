import { DynamicModule, Module } from '@nestjs/common';
import { ApproveGrpcController } from './approve/approve.grpc.controller';
import { ApproveHandler } from './approve/approve.handler';
import { ApproveHttpController } from './approve/approve.http.controller';
import { ApprovalExpiryScheduler } from './expiry/approval-expiry.scheduler';
import { GetApprovalGrpcController } from './get-approval/get-approval.grpc.controller';
import { GetApprovalHttpController } from './get-approval/get-approval.http.controller';
import { GetApprovalQuery } from './get-approval/get-approval.query';
import { GrpcAuth } from './grpc/grpc-auth';
import { JobEventsHttpController } from './job-events/job-events.http.controller';
import { JobEventsQuery } from './job-events/job-events.query';
import { ListApprovalsGrpcController } from './list-approvals/list-approvals.grpc.controller';
import { ListApprovalsHttpController } from './list-approvals/list-approvals.http.controller';
import { ListApprovalsQuery } from './list-approvals/list-approvals.query';
import { ApprovedRelay } from './projections/approved.relay';
import { PendingApprovalsProjection } from './projections/pending-approvals.projection';
import { RejectGrpcController } from './reject/reject.grpc.controller';
import { RejectHandler } from './reject/reject.handler';
import { RejectHttpController } from './reject/reject.http.controller';
import { ApprovalIntegrity } from './shared/approval-integrity';
import { APPROVAL_MODULE_OPTIONS, ApprovalModuleOptions } from './shared/approval-options';
import { WatchApprovalsGrpcController } from './watch-approvals/watch-approvals.grpc.controller';

/**
 * The approval service's use cases: approve, reject, list and read approvals, a job's history,
 * the WatchApprovals stream, expiry, the pending-approvals projection with drift detection and the
 * `signoff.jobs.approved` relay. Needs the global CoreModule and AuthModule of its composition
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
    ApproveGrpcController,
    RejectGrpcController,
    ListApprovalsGrpcController,
    GetApprovalGrpcController,
    WatchApprovalsGrpcController,
  ],
  providers: [
    ApprovalIntegrity,
    ApproveHandler,
    RejectHandler,
    ListApprovalsQuery,
    GetApprovalQuery,
    JobEventsQuery,
    GrpcAuth,
    PendingApprovalsProjection,
    ApprovalExpiryScheduler,
    ApprovedRelay,
  ],
  exports: [PendingApprovalsProjection, ApprovalExpiryScheduler],
})
export class ApprovalModule {
  /** The module with its tunables (defaults suit production; tests: a faster expiry sweep). */
  static forRoot(options: ApprovalModuleOptions = {}): DynamicModule {
    return { module: ApprovalModule, providers: [{ provide: APPROVAL_MODULE_OPTIONS, useValue: options }] };
  }
}
