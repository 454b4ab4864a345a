import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream, type ClientReadableStream, type ServiceError, status as GrpcStatus } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthRegistry } from '@signoff/observability';
import { createTestDatabase } from '../../../../test/support/infra';
import { ApprovalTestApp, startApprovalApp } from '../testing/approval-test.app';
import { writePolicyFile } from '../testing/test-policies';
import { PROTO_LOADER_OPTIONS } from '../grpc/grpc.options';
import { HEALTH_PROTO_PATH } from './grpc-health';

type Status = { status: string };
interface HealthClient extends Client {
  Check(request: object, callback: (error: ServiceError | null, response: Status) => void): void;
  List(request: object, callback: (error: ServiceError | null, response: { statuses: Record<string, Status> }) => void): void;
  Watch(request: object): ClientReadableStream<Status>;
}
interface ReflectionClient extends Client {
  ServerReflectionInfo(): ClientDuplexStream<object, Record<string, unknown>>;
}

type ClientCtor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;
/** The client constructor at a dotted path of a loaded package definition. */
function clientAt(protoPath: string, service: string): ClientCtor {
  let node: unknown = loadPackageDefinition(loadSync(protoPath, { ...PROTO_LOADER_OPTIONS }));
  for (const part of service.split('.')) node = (node as Record<string, unknown>)[part];
  return node as ClientCtor;
}

const REFLECTION_PROTO = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');

function next<T>(stream: ClientReadableStream<T> | ClientDuplexStream<object, T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const onData = (data: T) => {
      stream.off('error', reject);
      resolve(data);
    };
    stream.once('data', onData);
    stream.once('error', reject);
  });
}

/** Ends a watch from the client side (its CANCELLED status is the expected end, not an error). */
function cancel(stream: ClientReadableStream<unknown>): void {
  stream.on('error', (error: ServiceError) => {
    if (error.code !== GrpcStatus.CANCELLED) throw error;
  });
  stream.cancel();
}

describe('gRPC health (grpc.health.v1) and server reflection, the way probes and grpcurl ask', () => {
  let db: { url: string; drop: () => Promise<void> };
  let svc: ApprovalTestApp;
  let health: HealthClient;
  let reflection: ReflectionClient;

  beforeAll(async () => {
    db = await createTestDatabase('grpc_health');
    svc = await startApprovalApp({ databaseUrl: db.url, policyPath: writePolicyFile(), grpc: true });
    const Health = clientAt(HEALTH_PROTO_PATH, 'grpc.health.v1.Health');
    health = new Health(svc.grpcAddress!, credentials.createInsecure()) as HealthClient;
    const Reflection = clientAt(REFLECTION_PROTO, 'grpc.reflection.v1.ServerReflection');
    reflection = new Reflection(svc.grpcAddress!, credentials.createInsecure()) as ReflectionClient;
  });
  afterAll(async () => {
    health?.close();
    reflection?.close();
    await svc?.close();
    await db?.drop();
  });

  const check = (service: string) =>
    new Promise<Status>((resolve, reject) => health.Check({ service }, (error, response) => (error ? reject(error) : resolve(response))));

  it('Check without a token: SERVING for the server and the reviewer gateway, NOT_FOUND for another service', async () => {
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('signoff.v1.Approvals')).toEqual({ status: 'SERVING' });
    const error = await check('signoff.v1.Nope').then(
      () => null,
      (e: ServiceError) => e,
    );
    expect(error?.code).toBe(GrpcStatus.NOT_FOUND);
  });

  it('List names both services; Watch of an unknown service answers SERVICE_UNKNOWN (and stays open)', async () => {
    const listed = await new Promise<{ statuses: Record<string, Status> }>((resolve, reject) =>
      health.List({}, (error, response) => (error ? reject(error) : resolve(response))),
    );
    expect(listed.statuses).toEqual({ '': { status: 'SERVING' }, 'signoff.v1.Approvals': { status: 'SERVING' } });
    const unknown = health.Watch({ service: 'nope' });
    expect(await next(unknown)).toEqual({ status: 'SERVICE_UNKNOWN' });
    cancel(unknown);
  });

  it('reflection lists the services and describes signoff.v1.Approvals (grpcurl needs no proto file)', async () => {
    const stream = reflection.ServerReflectionInfo();
    stream.write({ list_services: '' });
    const listed = (await next(stream)) as { list_services_response: { service: { name: string }[] } };
    expect(listed.list_services_response.service.map((s) => s.name)).toEqual(expect.arrayContaining(['signoff.v1.Approvals', 'grpc.health.v1.Health']));
    stream.write({ file_containing_symbol: 'signoff.v1.Approvals' });
    const described = (await next(stream)) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
    const files = described.file_descriptor_response.file_descriptor_proto.map((b) => Buffer.from(b).toString('latin1'));
    expect(files.some((f) => f.includes('signoff.v1') && f.includes('WatchApprovals'))).toBe(true);
    stream.end();
  });

  it('follows /health/ready: a draining instance answers NOT_SERVING to Check, and Watch sees the change', async () => {
    const watch = health.Watch({ service: '' });
    expect(await next(watch)).toEqual({ status: 'SERVING' });
    const changed = next(watch);
    svc.app.get(HealthRegistry).markShuttingDown();
    expect(await changed).toEqual({ status: 'NOT_SERVING' });
    expect(await check('')).toEqual({ status: 'NOT_SERVING' });
    cancel(watch);
  });
});
