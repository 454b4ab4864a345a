import { Controller, OnModuleDestroy } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { HealthRegistry } from '@signoff/observability';
import { distinctUntilChanged, from, map, Observable, share, startWith, Subject, switchMap, takeUntil, timer } from 'rxjs';
import { HEALTH_SERVICES, isKnownService, servingStatusOf, type ServingStatus } from './grpc-health';

/** How often a watched status is re-read (one shared poll for every Watch call of the instance). */
export const HEALTH_WATCH_INTERVAL_MS = 2_000;

interface HealthCheckResponse {
  readonly status: ServingStatus;
}

/**
 * `grpc.health.v1.Health` (the standard gRPC health protocol), so Kubernetes `grpc:` probes,
 * `grpc_health_probe` and grpcurl work: the status is the one `/health/ready` reports (event store,
 * broker, active policy, start-up, draining on SIGTERM). No token, like `/health/*`. `Check` of a
 * service this instance does not serve is NOT_FOUND, `Watch` of one answers SERVICE_UNKNOWN (as
 * the protocol says). Every Watch shares one readiness poll, and only while someone watches.
 */
@Controller()
export class GrpcHealthController implements OnModuleDestroy {
  private readonly stopped = new Subject<void>();
  private readonly serving: Observable<ServingStatus>;

  constructor(private readonly health: HealthRegistry) {
    this.serving = timer(0, HEALTH_WATCH_INTERVAL_MS).pipe(
      switchMap(() => from(this.status())),
      distinctUntilChanged(),
      takeUntil(this.stopped),
      share(),
    );
  }

  @GrpcMethod('Health', 'Check')
  async check(request: { service?: string }): Promise<HealthCheckResponse> {
    const service = request.service ?? '';
    if (!isKnownService(service)) throw new RpcException({ code: GrpcStatus.NOT_FOUND, message: `unknown service ${JSON.stringify(service.slice(0, 200))}` });
    return { status: await this.status() };
  }

  @GrpcMethod('Health', 'Watch')
  watch(request: { service?: string }): Observable<HealthCheckResponse> {
    const known = isKnownService(request.service ?? '');
    const statuses = known ? this.serving : this.stoppedOnly().pipe(startWith<ServingStatus>('SERVICE_UNKNOWN'));
    return statuses.pipe(map((status) => ({ status })));
  }

  @GrpcMethod('Health', 'List')
  async list(): Promise<{ statuses: Record<string, HealthCheckResponse> }> {
    const status = await this.status();
    return { statuses: Object.fromEntries(HEALTH_SERVICES.map((service) => [service, { status }])) };
  }

  onModuleDestroy(): void {
    this.stopped.next();
    this.stopped.complete();
  }

  private async status(): Promise<ServingStatus> {
    return servingStatusOf(await this.health.ready());
  }

  /** Emits nothing and completes when the instance stops (a watched unknown service stays open). */
  private stoppedOnly(): Observable<never> {
    return new Observable<never>((subscriber) => {
      const subscription = this.stopped.subscribe({ complete: () => subscriber.complete(), next: () => subscriber.complete() });
      return () => subscription.unsubscribe();
    });
  }
}
