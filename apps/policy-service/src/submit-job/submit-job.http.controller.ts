import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SubmitAnswer } from '@signoff/approvals';
import { ProblemDto, SubmitJobDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
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
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_request (per-field `errors`) or reserved_label' })
  @ApiResponse({ status: 403, type: ProblemDto, description: 'policy_denied (with rule_id) or forbidden' })
  @ApiResponse({ status: 409, type: ProblemDto, description: 'job_request_changed: the job_id exists with other content' })
  @ApiResponse({ status: 413, type: ProblemDto, description: 'payload_too_large (1 MiB)' })
  @ApiResponse({ status: 429, type: ProblemDto, description: 'throttled, with Retry-After' })
  @ApiResponse({ status: 503, type: ProblemDto, description: 'policy_unavailable (evaluation timeout) or store_unavailable; nothing stored' })
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
