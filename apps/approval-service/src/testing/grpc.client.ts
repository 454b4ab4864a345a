import { credentials, loadPackageDefinition, Metadata, ServiceError, type Client, type ClientReadableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_PATH } from '@signoff/contracts';
import { PROTO_LOADER_OPTIONS } from '../grpc/grpc.options';

type Unary = (request: object, metadata: Metadata, callback: (error: ServiceError | null, response: Record<string, unknown>) => void) => void;

/** A real @grpc/grpc-js client of `signoff.v1.Approvals` (tests, benchmarks). */
export interface ApprovalsClient {
  /** `extra`: more metadata (e.g. `traceparent`). */
  call(method: 'ListApprovals' | 'GetApproval' | 'Approve' | 'Reject', request: object, authorization?: string, extra?: Record<string, string>): Promise<Record<string, unknown>>;
  watch(request: object, authorization?: string): ClientReadableStream<Record<string, unknown>>;
  close(): void;
}

export function approvalsClient(address: string): ApprovalsClient {
  const definition = loadPackageDefinition(loadSync(PROTO_PATH, { ...PROTO_LOADER_OPTIONS }));
  const Service = (definition.signoff as Record<string, Record<string, new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client>>).v1.Approvals;
  const client = new Service(address, credentials.createInsecure()) as Client & Record<string, Unary> & {
    WatchApprovals(request: object, metadata: Metadata): ClientReadableStream<Record<string, unknown>>;
  };
  const metadataOf = (authorization?: string, extra: Record<string, string> = {}) => {
    const metadata = new Metadata();
    if (authorization) metadata.set('authorization', authorization);
    for (const [key, value] of Object.entries(extra)) metadata.set(key, value);
    return metadata;
  };
  return {
    call: (method, request, authorization, extra) =>
      new Promise((resolve, reject) => {
        client[method]!(request, metadataOf(authorization, extra), (error, response) => (error ? reject(error) : resolve(response)));
      }),
    watch: (request, authorization) => client.WatchApprovals(request, metadataOf(authorization)),
    close: () => client.close(),
  };
}
