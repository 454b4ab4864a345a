import { Global, Module } from '@nestjs/common';
import { HealthRegistry } from './health';
import { SignoffMetrics } from './metrics';
import { OpsController } from './ops.controller';

/** Metrics, readiness registry and the ops endpoints; global so every module can register checks. */
@Global()
@Module({
  controllers: [OpsController],
  providers: [SignoffMetrics, HealthRegistry],
  exports: [SignoffMetrics, HealthRegistry],
})
export class ObservabilityModule {}
