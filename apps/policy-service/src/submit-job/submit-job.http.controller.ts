import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { SubmitAnswer } from '@signoff/approvals';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { SubmitJobHandler } from './submit-job.handler';

/** `POST /api/v1/jobs` (submitter): every outcome of DESIGN section 4. */
@Controller('jobs')
export class SubmitJobHttpController {
  constructor(private readonly handler: SubmitJobHandler) {}

  @Post()
  @HttpCode(202)
  @Roles('submitter')
  async submit(@Body() body: unknown, @CurrentPrincipal() principal: Principal, @Req() request: { id?: string }): Promise<SubmitAnswer> {
    const result = await this.handler.submit(body, {
      kind: 'http',
      subject: principal.sub,
      tenants: principal.tenants,
      correlationId: request.id,
    });
    if (result.status === 403) throw result.error;
    return result.body;
  }
}
