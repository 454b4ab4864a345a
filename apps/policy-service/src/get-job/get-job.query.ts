import { Query } from '@nestjs/cqrs';
import type { JobView } from '@signoff/approvals';
import type { JobRef } from '@signoff/contracts';
import type { Principal } from '@signoff/runtime';

/** Read a job's state (`GET /jobs/:id`), on the QueryBus. */
export class GetJobQuery extends Query<JobView> {
  constructor(
    readonly principal: Principal,
    readonly ref: JobRef,
  ) {
    super();
  }
}
