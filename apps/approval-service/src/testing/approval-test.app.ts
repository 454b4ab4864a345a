import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FixedClock } from '@signoff/core/testing';
import type { SigningKeySet } from '@signoff/keys';
import { JsonLogger } from '@signoff/observability';
import { createHttpApp, listen, mintToken, Role } from '@signoff/runtime';
import { freePort } from '../../../../deploy/local/ports';
import { testConfig, TEST_JWT_SECRET } from '../../../../test/support/app';
import { ApprovalServiceModule } from '../app.module';
import { connectApprovalsGrpc } from '../grpc/grpc.options';
import type { ApprovalModuleOptions } from '../shared/approval-options';

export interface ApprovalTestApp {
  readonly app: NestFastifyApplication;
  /** Base URL of the HTTP API (add `/api/v1/...`). */
  readonly url: string;
  /** host:port of the gRPC gateway (when started with `grpc: true`). */
  readonly grpcAddress: string | null;
  readonly clock: FixedClock;
  close(): Promise<void>;
}

export interface ApprovalTestAppOptions {
  readonly databaseUrl: string;
  readonly policyPath: string;
  readonly clock?: FixedClock;
  /** More environment (SNAPSHOT_MODE, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX ...). */
  readonly env?: Record<string, string>;
  readonly grpc?: boolean;
  readonly expirySweepIntervalMs?: number;
  /** How often the instance re-reads the active policy (default 250 ms; long = keeps a stale policy). */
  readonly policyPollIntervalMs?: number;
  /** Approval module tunables (SSE heartbeat and buffer bound, change history). */
  readonly approval?: Omit<ApprovalModuleOptions, 'expirySweepIntervalMs'>;
  /** The control plane's keys: with them the audit tree (issue 14) runs and signs. */
  readonly signingKeys?: SigningKeySet;
}

/**
 * The approval service's real composition root (ApprovalServiceModule: CoreModule, AuthModule, ApprovalModule)
 * on the production HTTP bootstrap, listening on free 127.0.0.1 ports, with a fixed clock.
 * Without KAFKA_BROKERS the message bus is the in-process one.
 */
export async function startApprovalApp(options: ApprovalTestAppOptions): Promise<ApprovalTestApp> {
  const clock = options.clock ?? new FixedClock(new Date());
  const config = testConfig({ EVENT_STORE_URL: options.databaseUrl, POLICY_PATH: options.policyPath, ...options.env });
  const module = ApprovalServiceModule.forRoot(config, {
    ...options.approval,
    clock,
    expirySweepIntervalMs: options.expirySweepIntervalMs ?? 100,
    ...(options.policyPollIntervalMs !== undefined ? { policyPollIntervalMs: options.policyPollIntervalMs } : {}),
    ...(options.signingKeys ? { signingKeys: options.signingKeys } : {}),
  });
  const app = await createHttpApp(module, { service: 'approval-service-test', logger: new JsonLogger('approval-service-test', 'warn') });
  let grpcAddress: string | null = null;
  if (options.grpc) {
    const port = await freePort();
    connectApprovalsGrpc(app, config, port);
    await app.startAllMicroservices();
    grpcAddress = `127.0.0.1:${port}`;
  }
  const url = await listen(app, 0, '127.0.0.1');
  return { app, url, grpcAddress, clock, close: () => app.close() };
}

/** A bearer token of the test secret; `roles` may name domain roles (e.g. `change-approver`). */
export async function bearer(sub: string, roles: string[], extra: { topics?: string[]; tenants?: string[] } = {}): Promise<string> {
  return `Bearer ${await mintToken(TEST_JWT_SECRET, { sub, roles: roles as Role[], ...extra })}`;
}

/** JSON request helper: `{status, body, headers}`. */
export async function call(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  authorization: string | null,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}
