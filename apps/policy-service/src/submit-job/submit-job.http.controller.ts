import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SubmitAnswer } from '@signoff/approvals';
import { SubmitJobDto } from '@signoff/contracts';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { SubmitJobCommand } from './submit-job.command';

/** `POST /api/v1/jobs` (submitter): every outcome of DESIGN section 4. */
@ApiTags('jobs')
@Controller('jobs')
export class SubmitJobHttpController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(202)
  @ApiBody({ type: SubmitJobDto })
  @ApiResponse({ status: 202, description: 'accepted (allow) or approval_required (require_human); stored before this answer' })
  @ApiProblems(['invalid_request', 'reserved_label', 'forbidden', 'policy_denied', 'job_request_changed', 'throttled', 'policy_unavailable', 'store_unavailable', 'busy'], {
    invalid_request: 'per-field `errors`',
    reserved_label: 'a label named approval_* or signoff.*',
    forbidden: 'not a submitter, or a tenant the token does not cover',
    policy_denied: 'with `rule_id`',
    job_request_changed: 'the job_id exists with other content',
    payload_too_large: 'over 1 MiB',
    throttled: 'with Retry-After',
    policy_unavailable: 'evaluation timeout or budget exceeded; nothing stored',
    store_unavailable: 'nothing stored; with Retry-After',
  })
  @Roles('submitter')
  async submit(@Body() body: unknown, @CurrentPrincipal() principal: Principal, @Req() request: { id?: string }): Promise<SubmitAnswer> {
    const result = await this.commands.execute(
      new SubmitJobCommand(body, {
        kind: 'http',
        subject: principal.sub,
        tenants: principal.tenants,
        correlationId: request.id,
      }),
    );
    if (result.status === 403) throw result.error;
    return result.body;
  }
}
