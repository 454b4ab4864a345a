import { DynamicModule } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@signoff/observability';
import { createHttpApp, listen, mintToken, parseConfig, Role, SignoffConfig } from '@signoff/runtime';

/** The HS256 secret of every test app. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** A validated configuration for tests: the given variables over test defaults. */
export function testConfig(env: Record<string, string | undefined>): SignoffConfig {
  return parseConfig({ AUTH_JWT_SECRET: TEST_JWT_SECRET, PORT: '0', GRPC_PORT: '0', LOG_LEVEL: 'warn', ...env });
}

/** A bearer token for tests. */
export async function tokenFor(sub: string, roles: Role[], extra: { topics?: string[]; tenants?: string[] } = {}): Promise<string> {
  return mintToken(TEST_JWT_SECRET, { sub, roles, ...extra });
}

/** `Authorization` header for tests. */
export async function authHeader(sub: string, roles: Role[], extra: { topics?: string[]; tenants?: string[] } = {}): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await tokenFor(sub, roles, extra)}` };
}

/**
 * Starts a real Nest application (Fastify, the production bootstrap: /api/v1 prefix,
 * problem+json filter) listening on a free 127.0.0.1 port.
 */
export async function startTestApp(module: DynamicModule): Promise<{ app: NestFastifyApplication; url: string; close: () => Promise<void> }> {
  const app = await createHttpApp(module, { service: 'test', logger: new JsonLogger('test', 'warn') });
  const url = await listen(app, 0, '127.0.0.1');
  return { app, url, close: () => app.close() };
}
