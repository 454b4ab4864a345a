import { DynamicModule, Module } from '@nestjs/common';
import { cqrsHandlers } from '@signoff/core';
import { AuditHttpController } from './audit.http.controller';
import { AuditEventsHandler } from './audit-events.handler';
import { JobReceiptHandler } from './job-receipt.handler';
import { JobReceiptHttpController } from './job-receipt.http.controller';
import { ConsistencyProofHandler, InclusionProofHandler, SignTreeHeadHandler, TreeHeadHandler } from './audit-proofs.handler';
import { AUDIT_TREE_OPTIONS, AuditTree, type AuditTreeOptions } from './audit-tree.service';

/**
 * The verifiable audit log (issue 14): the Merkle tree over the global log, signed tree heads,
 * inclusion and consistency proofs (`/api/v1/audit/...`). Needs the global CoreModule and
 * AuthModule, and the control plane's signing keys.
 */
@Module({})
export class AuditModule {
  static forRoot(options: AuditTreeOptions): DynamicModule {
    return {
      module: AuditModule,
      controllers: [AuditHttpController, JobReceiptHttpController],
      providers: [
        { provide: AUDIT_TREE_OPTIONS, useValue: options },
        AuditTree,
        ...cqrsHandlers('AuditModule', {
          commands: [SignTreeHeadHandler],
          queries: [TreeHeadHandler, InclusionProofHandler, ConsistencyProofHandler, JobReceiptHandler, AuditEventsHandler],
        }),
      ],
      exports: [AuditTree],
    };
  }
}
