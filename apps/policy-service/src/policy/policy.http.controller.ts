import { Body, Controller, Get, Headers, HttpCode, Post, Put, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SignoffError, SubmitJobDto } from '@signoff/contracts';
import { ApiProblems, CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ActivatedPolicyAnswer, ActivatePolicyCommand } from './activate-policy.command';
import { DryRunAnswer, EvaluatePolicyQuery } from './evaluate-policy.query';
import { ActivePolicyAnswer, GetPolicyQuery } from './get-policy.query';
import { ActivatedPolicyDoc, ActivePolicyDoc, DryRunDoc } from './policy.openapi';

/** `GET /policy`, `PUT /policy` (admin; YAML or JSON), `POST /policy/evaluate` (dry run). */
@ApiTags('policy')
@Controller('policy')
export class PolicyHttpController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Get()
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: 'The active policy: its snapshot, its own version and its activation number' })
  @ApiOkResponse({ type: ActivePolicyDoc })
  @ApiProblems(['policy_unavailable'], { policy_unavailable: 'no policy is active yet, with Retry-After' })
  get(): Promise<ActivePolicyAnswer> {
    return this.queries.execute(new GetPolicyQuery());
  }

  @Put()
  @Roles('admin')
  @ApiOperation({ summary: 'Activate a policy bundle (DESIGN section 7); every instance serves it within 1 s' })
  @ApiConsumes('application/yaml', 'application/json')
  @ApiBody({ description: 'A policy bundle (DESIGN §7), YAML or JSON', schema: { type: 'string' } })
  @ApiOkResponse({ type: ActivatedPolicyDoc, description: 'The bundle is active (activating the active one again changes nothing)' })
  @ApiProblems(['invalid_policy', 'busy', 'store_unavailable'], {
    invalid_policy: '`errors[]` of {path, line, column, code, message}',
    busy: 'activations racing, with Retry-After',
  })
  async put(
    @Req() request: { rawBody?: Buffer; body?: unknown },
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ActivatedPolicyAnswer> {
    const json = /json/i.test(contentType ?? '');
    const text = json ? request.rawBody?.toString('utf8') : typeof request.body === 'string' ? request.body : undefined;
    if (text === undefined || text.trim() === '') {
      throw new SignoffError('invalid_policy', 'send the bundle as YAML (application/yaml) or JSON (application/json)', { errors: [] });
    }
    return this.commands.execute(new ActivatePolicyCommand(text, json ? 'json' : 'yaml', principal));
  }

  // A dry run creates nothing: 200, not POST's default 201.
  @Post('evaluate')
  @HttpCode(200)
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  @ApiOperation({ summary: "A dry run: the active policy's decision for a job request; nothing stored or counted" })
  @ApiBody({ type: SubmitJobDto })
  @ApiOkResponse({ type: DryRunDoc })
  @ApiProblems(['invalid_request', 'policy_unavailable'], {
    invalid_request: 'per-field `errors`',
    policy_unavailable: 'no active policy, or the evaluation exceeded its budget',
  })
  evaluate(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<DryRunAnswer> {
    return this.queries.execute(new EvaluatePolicyQuery(body, principal));
  }
}
