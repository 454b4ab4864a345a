/**
 * What other apps may use of the approval service (`@signoff/approval-service`): its feature
 * module and the gRPC transport its controllers need, for a composition root that hosts them
 * (apps/standalone), and its own root module.
 */
export { ApprovalModule } from './approval.module';
export { SlackModule } from './slack/slack.module';
export { ApprovalServiceModule, type ApprovalServiceModuleOverrides } from './app.module';
export { type ApprovalModuleOptions } from './shared/approval-options';
export { approvalsGrpcOptions, connectApprovalsGrpc } from './grpc/grpc.options';
export { HEALTH_SERVICES } from './grpc-health/grpc-health';
export { AuditModule } from './audit/audit.module';
export { AuditTree, type AuditTreeOptions } from './audit/audit-tree.service';
