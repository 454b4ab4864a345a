import { Query } from '@nestjs/cqrs';
import type { DecisionReceipt } from '@signoff/audit-proof';
import type { JobRef } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** `GET /jobs/:id/receipt`: the signed receipt of the job's latest decision, with its inclusion proof. */
export class JobReceiptQuery extends Query<DecisionReceipt> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
  ) {
    super();
  }
}
