import type { HealthReport } from '@signoff/observability';

/** The gRPC package and proto of the standard health service (grpc/grpc-proto, shipped by `grpc-health-check`). */
export const HEALTH_PACKAGE = 'grpc.health.v1';
export const HEALTH_PROTO_PATH = require.resolve('grpc-health-check/proto/health/v1/health.proto');

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`, as proto-loader (`enums: String`) spells it. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * The services this instance answers health for: `''` (the server as a whole, what a Kubernetes
 * `grpc:` probe asks by default) and the reviewer gateway. Both follow `/health/ready`.
 */
export const HEALTH_SERVICES = ['', 'signoff.v1.Approvals'] as const;

export function isKnownService(service: string): boolean {
  return (HEALTH_SERVICES as readonly string[]).includes(service);
}

/** The serving status of a readiness report: SERVING exactly when `/health/ready` answers 200. */
export function servingStatusOf(report: HealthReport): ServingStatus {
  return report.status === 'ok' ? 'SERVING' : 'NOT_SERVING';
}
