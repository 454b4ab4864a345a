import { Controller, Get, Header, Res } from '@nestjs/common';
import { HealthRegistry } from './health';
import { SignoffMetrics } from './metrics';

interface ReplyLike {
  status(code: number): ReplyLike;
  send(body: unknown): unknown;
}

/** `GET /metrics`, `GET /health/live`, `GET /health/ready` (outside the /api/v1 prefix). */
@Controller()
export class OpsController {
  constructor(
    private readonly metrics: SignoffMetrics,
    private readonly health: HealthRegistry,
  ) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async getMetrics(): Promise<string> {
    return this.metrics.text();
  }

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res() reply: ReplyLike): Promise<void> {
    const report = await this.health.ready();
    reply.status(report.status === 'ok' ? 200 : 503).send(report);
  }
}
