import 'reflect-metadata';
import { runService } from '@signoff/runtime';
import { ApprovalServiceModule } from './app.module';
import { connectApprovalsGrpc } from './grpc/grpc.options';

// The reviewer API over HTTP (PORT) and gRPC (signoff.v1.Approvals on HOST:GRPC_PORT). runService
// reads and validates the environment (an auth secret or JWKS URL is required), connects the
// message bus and starts both transports; SIGTERM stops them.
void runService('approval-service', ApprovalServiceModule, {
  configure: (app, config, logger) => {
    connectApprovalsGrpc(app, config);
    logger.emit('info', 'gRPC reviewer gateway signoff.v1.Approvals', { address: `${config.host}:${config.grpcPort}` });
  },
}).catch((error: unknown) => {
  process.stderr.write(`approval-service failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
