import { Body, Controller, Get, Headers, Inject, Post, Put, Req } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProblemDto, SignoffError, SubmitJobDto, validateMessage } from '@signoff/contracts';
import { ActivePolicy, SIGNOFF_CONFIG } from '@signoff/core';
import { evaluate, normalizeJobRequest, ThrottleCounter, ThrottleHit } from '@signoff/policy-engine';
import { CurrentPrincipal, Principal, Roles, SignoffConfig } from '@signoff/runtime';
import { policyUnavailable } from '../submit-job/submit-job.handler';

/** A counter that never counts: a dry run reports throttle rules as within their limit. */
class DryRunThrottleCounter extends ThrottleCounter {
  hit(): ThrottleHit {
    return { allowed: true, count: 0, retry_after_seconds: 1 };
  }
}

/** `GET /policy`, `PUT /policy` (admin; YAML or JSON), `POST /policy/evaluate` (dry run). */
@ApiTags('policy')
@Controller('policy')
export class PolicyHttpController {
  private readonly dryRun = new DryRunThrottleCounter();

  constructor(
    private readonly policy: ActivePolicy,
    @Inject(SIGNOFF_CONFIG) private readonly config: SignoffConfig,
  ) {}

  @Get()
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  get(): { snapshot: string; version: string; rules: unknown; default: string; activated_at: string; activated_by: string } {
    const p = this.policy.get();
    return { snapshot: p.snapshot, version: p.version, rules: p.bundle.rules, default: p.bundle.default, activated_at: p.activatedAt, activated_by: p.activatedBy };
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
    const activated = await this.policy.activate(text, principal.sub, json ? 'json' : 'yaml');
    return { snapshot: activated.snapshot, version: activated.version };
  }

  @Post('evaluate')
  @ApiBody({ type: SubmitJobDto })
  @ApiResponse({ status: 201, description: '{decision, rule_id, reason, policy_snapshot}: a dry run, nothing stored or counted' })
  @Roles('submitter', 'reviewer', 'admin', 'auditor')
  async evaluate(@Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<{ decision: string; rule_id: string | null; reason: string; policy_snapshot: string }> {
    const result = validateMessage(SubmitJobDto, body);
    if (!result.ok) throw new SignoffError('invalid_request', 'the job request is invalid', { errors: result.errors });
    const p = this.policy.get();
    const request = normalizeJobRequest({ ...result.value, submitted_by: result.value.submitted_by ?? principal.sub });
    const evaluation = await Promise.resolve()
      .then(() => evaluate(p.compiled, request, { counter: this.dryRun, now: Date.now() }, { budgetMs: this.config.policyEvaluationBudgetMs }))
      .catch((error: unknown) => {
        throw policyUnavailable(error);
      });
    return { decision: evaluation.decision, rule_id: evaluation.rule_id, reason: evaluation.reason, policy_snapshot: p.snapshot };
  }
}
