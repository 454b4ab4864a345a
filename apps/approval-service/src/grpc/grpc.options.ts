import { INestApplication } from '@nestjs/common';
import { GrpcOptions, Transport } from '@nestjs/microservices';
import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { PROTO_PATH } from '@signoff/contracts';
import { TracingInterceptor, tracingEnabled } from '@signoff/observability';
import { SignoffConfig } from '@signoff/runtime';
import { HEALTH_PACKAGE, HEALTH_PROTO_PATH } from '../grpc-health/grpc-health';

/** The proto package of the reviewer gateway. */
export const GRPC_PACKAGE = 'signoff.v1';

/** proto-loader settings shared by the server and clients: field names as in the proto. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

/**
 * The gRPC transport on HOST (default 127.0.0.1) and GRPC_PORT: `signoff.v1.Approvals`, the
 * standard `grpc.health.v1.Health` (GrpcHealthController) and server reflection (v1 and v1alpha,
 * `@grpc/reflection`), so grpcurl lists and describes the services without a local proto file.
 */
export function approvalsGrpcOptions(config: SignoffConfig, port: number = config.grpcPort): GrpcOptions {
  return {
    transport: Transport.GRPC,
    options: {
      package: [GRPC_PACKAGE, HEALTH_PACKAGE],
      protoPath: [PROTO_PATH, HEALTH_PROTO_PATH],
      url: `${config.host}:${port}`,
      loader: { ...PROTO_LOADER_OPTIONS },
      onLoadPackageDefinition: (definition: ConstructorParameters<typeof ReflectionService>[0], server: Server) => {
        new ReflectionService(definition).addToServer(server);
      },
    },
  };
}

/**
 * Connects the reviewer gateway to an app; it starts with `app.startAllMicroservices()` and stops
 * with `app.close()`. Not inheriting the HTTP app's config: the problem+json filter is HTTP-only,
 * the gRPC controllers map errors with GrpcErrorFilter.
 */
export function connectApprovalsGrpc(app: INestApplication, config: SignoffConfig, port?: number): void {
  if (!tracingEnabled()) {
    app.connectMicroservice<GrpcOptions>(approvalsGrpcOptions(config, port), { inheritAppConfig: false });
    return;
  }
  // Tracing on: the ingress span of each gRPC call (RPC semantic conventions). connectMicroservice
  // binds the handlers at once, before an interceptor could be added, unless deferred; then this
  // does what it would have done, with the interceptor registered.
  const grpc = app.connectMicroservice<GrpcOptions>(approvalsGrpcOptions(config, port), { inheritAppConfig: false, deferInitialization: true });
  grpc.useGlobalInterceptors(new TracingInterceptor('grpc'));
  const hybrid = grpc as unknown as { registerListeners(): void; setIsInitialized(value: boolean): void; setIsInitHookCalled(value: boolean): void };
  hybrid.registerListeners();
  hybrid.setIsInitialized(true);
  hybrid.setIsInitHookCalled(true);
}
