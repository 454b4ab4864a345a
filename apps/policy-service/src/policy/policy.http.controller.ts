import { Body, Controller, Get, Headers, Post, Put, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemDto, SignoffError, SubmitJobDto } from '@signoff/contracts';
import { CurrentPrincipal, Principal, Roles } from '@signoff/runtime';
import { ActivatePolicyCommand } from './activate-policy.command';
import { DryRunAnswer, EvaluatePolicyQuery } from './evaluate-policy.query';
import { ActivePolicyAnswer, GetPolicyQuery } from './get-policy.query';

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
  get(): Promise<ActivePolicyAnswer> {
    return this.queries.execute(new GetPolicyQuery());
  }

  @Put()
  @Roles('admin')
  @ApiConsumes('application/yaml', 'application/json')
  @ApiBody({ description: 'A policy bundle (DESIGN §7), YAML or JSON', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: '{snapshot, version}: the bundle is active on every instance within 1 s' })
  @ApiResponse({ status: 400, type: ProblemDto, description: 'invalid_policy with `errors[]` of {path, line, column, code, message}' })
  async put(
    @Req() request: { rawBody?: Buffer; body?: unknown },
    @Headers('content-type') contentType: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ snapshot: string; version: string }> {
    const json = /json/i.test(contentType ?? '');
    const text = json ? request.rawBody?.toString('utf8') : typeof request.body === 'string' ? request.body : undefined;
    if (text === undefined || text.trim() === '') {
      throw new SignoffError('invalid_policy', 'send the bundle as YAML (application/yaml) or JSON (application/json)', { errors: [] });
    }
    return this.commands.execute(new ActivatePolicyCommand(text, json ? 'json' : 'yaml', principal));
  }

  @Post('evaluate')
  @ApiBody({ type: SubmitJobDto })
  @ApiResponse({ status: 201, description: '{decision, rule_id, reason, policy_snapshot}: a dry run, nothing stored or counted' })
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  evaluate(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<DryRunAnswer> {
    return this.queries.execute(new EvaluatePolicyQuery(body, principal));
  }
}
