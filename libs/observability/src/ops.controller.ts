import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthRegistry } from './health';
import { SignoffMetrics } from './metrics';

interface ReplyLike {
  status(code: number): ReplyLike;
  send(body: unknown): unknown;
}

/** The readiness report's schema in the OpenAPI document (HealthReport). */
const HEALTH_REPORT_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ok', 'unavailable'] },
    checks: {
      type: 'object',
      description: 'One entry per dependency (event store, kafka, policy, consumers, startup, shutdown)',
      additionalProperties: {
        type: 'object',
        required: ['status', 'ms'],
        properties: { status: { type: 'string', enum: ['ok', 'unavailable'] }, error: { type: 'string' }, ms: { type: 'number' } },
      },
    },
  },
};

/**
 * `GET /metrics`, `GET /health/live`, `GET /health/ready` (outside the /api/v1 prefix). No token:
 * the auth guard lets this controller through, and the OpenAPI document says `security: []`.
 */
@ApiTags('ops')
@Controller()
export class OpsController {
  constructor(
    private readonly metrics: SignoffMetrics,
    private readonly health: HealthRegistry,
  ) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics of DESIGN section 9 and the process metrics', schema: { type: 'string' } })
  async getMetrics(): Promise<string> {
    return this.metrics.text();
  }

  @Get('health/live')
  @ApiOperation({ summary: 'Liveness: 200 as soon as the process listens' })
  @ApiOkResponse({ schema: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  @ApiOperation({ summary: 'Readiness: 200 when every dependency answers and start-up is complete' })
  @ApiOkResponse({ description: 'Ready', schema: HEALTH_REPORT_SCHEMA })
  @ApiResponse({ status: 503, description: 'Not ready: the report names what failed or what start-up waits for (not a problem document)', schema: HEALTH_REPORT_SCHEMA })
  async ready(@Res() reply: ReplyLike): Promise<void> {
    const report = await this.health.ready();
    reply.status(report.status === 'ok' ? 200 : 503).send(report);
  }
}
