import { DynamicModule } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { validate } from '@readme/openapi-parser';
import { ApprovalServiceModule } from '@signoff/approval-service';
import { ERROR_CODES, ErrorCode } from '@signoff/contracts';
import { DispatchServiceModule } from '@signoff/dispatch-service';
import { JsonLogger } from '@signoff/observability';
import { PolicyServiceModule } from '@signoff/policy-service';
import { createHttpApp, describeRoutes, DocumentedRoute, listen, Role, routeProblemCodes, setupOpenApi, SignoffConfig } from '@signoff/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig, tokenFor, TEST_JWT_SECRET } from '../../../test/support/app';
import { testKeys } from '../../../test/support/keys';
import { StandaloneServiceModule } from './app.module';

/**
 * The OpenAPI document each service serves at /docs/json matches the server (issue 16 §4):
 * valid for a standard parser (@readme/openapi-parser), the same routes as those Fastify really
 * registers (its onRoute hook), the statuses and problem codes each route declares
 * (`@ApiProblems`, its access and body), `security: []` exactly where no token is needed; and
 * real refusals of the running app answer statuses and codes the document lists for the route.
 */

interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema?: Schema }> }>;
}
interface Schema {
  $ref?: string;
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  enum?: string[];
  required?: string[];
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

interface Served {
  readonly name: string;
  readonly app: NestFastifyApplication;
  readonly url: string;
  /** `METHOD path` of every route Fastify registered (HEAD routes of GETs left out). */
  readonly registered: Set<string>;
  readonly doc: OpenApiDoc;
  readonly routes: Map<string, DocumentedRoute>;
}

const SERVICES: { name: string; module: (config: SignoffConfig) => DynamicModule }[] = [
  { name: 'policy-service', module: (config) => PolicyServiceModule.forRoot(config) },
  { name: 'approval-service', module: (config) => ApprovalServiceModule.forRoot(config) },
  { name: 'dispatch-service', module: (config) => DispatchServiceModule.forRoot(config, { signingKeys: testKeys().keys }) },
  { name: 'standalone', module: (config) => StandaloneServiceModule.forRoot(config, TEST_JWT_SECRET, testKeys().keys) },
];

/** Registered on purpose without a place in the document, and why. */
const UNDOCUMENTED: { readonly pattern: RegExp; readonly why: string }[] = [
  { pattern: /^GET \/docs(\/.*|-yaml)?$/, why: 'the document itself (JSON, YAML) and the Swagger UI' },
  { pattern: /^(GET|POST) \/console(\/.*)?$/, why: 'the reviewer console: HTML pages with a session cookie, not the JSON API' },
  { pattern: /^POST \/api\/v1\/integrations\/slack\/interactions$/, why: "Slack's signed callbacks (only with SIGNOFF_SLACK_FILE)" },
];

/** No token: Prometheus scrapes, probes, the public keys. */
const PUBLIC_OPERATIONS = ['GET /metrics', 'GET /health/live', 'GET /health/ready', 'GET /.well-known/jwks.json'];
/** Role-limited routes the issue names: they must document 403. */
const ROLE_LIMITED = ['GET /api/v1/jobs/{id}/events', 'GET /api/v1/approvals', 'GET /api/v1/approvals/{job_id}', 'PUT /api/v1/policy'];

async function serve(name: string, module: (config: SignoffConfig) => DynamicModule): Promise<Served> {
  const config = testConfig({ EVENT_STORE_URL: 'pglite://memory' });
  const app = await createHttpApp(module(config), { service: `${name}-openapi-test`, logger: new JsonLogger(`${name}-openapi-test`, 'warn') });
  const registered = new Set<string>();
  // Before any route exists: Nest registers its routes at init (listen), Swagger at setup.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') registered.add(`${method} ${route.url}`);
    });
  setupOpenApi(app, `Signoff ${name}`);
  const url = await listen(app, 0, '127.0.0.1');
  const res = await fetch(`${url}/docs/json`);
  expect(res.status).toBe(200);
  return { name, app, url, registered, doc: (await res.json()) as OpenApiDoc, routes: describeRoutes(app) };
}

/** Every operation of a document as `METHOD /path/{param}`. */
function operations(doc: OpenApiDoc): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]));
}

/** `{param}` -> `:param`, as Fastify names a route. */
const asRegistered = (operation: string) => operation.replace(/\{([^}]+)\}/g, ':$1');

function problemCodes(op: Operation, status: string): string[] {
  const schema = op.responses[status]?.content?.['application/problem+json']?.schema;
  const narrowed = schema?.allOf?.find((part) => part.properties?.code)?.properties?.code?.enum;
  expect(schema?.allOf?.[0]?.$ref, `${op.operationId} ${status}: a ProblemDto`).toBe('#/components/schemas/ProblemDto');
  return narrowed ?? [];
}

const served: Served[] = [];

beforeAll(async () => {
  for (const { name, module } of SERVICES) served.push(await serve(name, module));
});

afterAll(async () => {
  for (const { app } of served) await app.close();
});

describe.each(SERVICES.map(({ name }) => name))('the OpenAPI document of the %s', (name) => {
  const service = () => served.find((s) => s.name === name)!;

  it('is valid for a standard OpenAPI parser, without warnings', async () => {
    const { doc } = service();
    expect(doc.openapi).toMatch(/^3\./);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('documents exactly the routes the app registers (besides the deliberate exceptions)', () => {
    const { doc, registered } = service();
    const documented = new Set(operations(doc).map(([operation]) => asRegistered(operation)));
    const api = [...registered].filter((route) => !UNDOCUMENTED.some(({ pattern }) => pattern.test(route)));
    expect([...documented].filter((route) => !registered.has(route)), 'documented, not registered').toEqual([]);
    expect(api.filter((route) => !documented.has(route)), 'registered, not documented').toEqual([]);
    expect(registered.has('GET /docs/json')).toBe(true);
  });

  it("answers, per operation, its success status and one problem response per status of the route's codes", () => {
    const { doc, routes } = service();
    for (const [operation, op] of operations(doc)) {
      const route = routes.get(op.operationId);
      expect(route, operation).toBeDefined();
      const method = operation.split(' ')[0];
      const codes = routeProblemCodes({ method, access: route!.access, declared: route!.declared });
      const httpCode = Reflect.getMetadata(HTTP_CODE_METADATA, route!.handler!) as number | undefined;
      const success = String(httpCode ?? (method === 'POST' ? 201 : 200));
      const problemStatuses = [...new Set(codes.map((code) => String(ERROR_CODES[code])))];
      // The readiness probe's 503 is its report, not a problem.
      const other = operation === 'GET /health/ready' ? ['503'] : [];
      expect(Object.keys(op.responses).sort(), operation).toEqual([success, ...problemStatuses, ...other, 'default'].sort());
      for (const status of problemStatuses) {
        expect(problemCodes(op, status).sort(), `${operation} ${status}`).toEqual(codes.filter((code) => String(ERROR_CODES[code]) === status).sort());
      }
      expect(problemCodes(op, 'default')).toContain('internal');
    }
  });

  it('says security: [] exactly on the ops routes and the public keys; 401 everywhere else, 403 on role-limited routes', () => {
    const { doc } = service();
    for (const [operation, op] of operations(doc)) {
      if (PUBLIC_OPERATIONS.includes(operation)) {
        expect(op.security, operation).toEqual([]);
        expect(op.responses['401'], operation).toBeUndefined();
      } else {
        expect(op.security, operation).toEqual([{ bearer: [] }]);
        expect(problemCodes(op, '401'), operation).toEqual(['unauthenticated']);
      }
    }
    const ops = operations(doc).map(([operation]) => operation);
    for (const operation of ROLE_LIMITED.filter((o) => ops.includes(o))) {
      expect(problemCodes(Object.fromEntries(operations(doc))[operation], '403'), operation).toContain('forbidden');
    }
    expect(ops).toEqual(expect.arrayContaining(['GET /metrics', 'GET /health/live', 'GET /health/ready']));
  });
});

describe('the standalone document against the running standalone', () => {
  const standalone = () => served.find((s) => s.name === 'standalone')!;
  const operation = (key: string): Operation => {
    const [method, path] = key.split(' ');
    const op = standalone().doc.paths[path]?.[method.toLowerCase()];
    expect(op, key).toBeDefined();
    return op;
  };

  /** A real answer of the app: its status is one the route documents, with a listed `code` for a problem. */
  async function expectDocumented(key: string, res: Response): Promise<Record<string, unknown>> {
    const op = operation(key);
    const status = String(res.status);
    expect(Object.keys(op.responses), `${key} answered ${status}`).toContain(status);
    const text = await res.text();
    const json = /json/.test(res.headers.get('content-type') ?? '');
    const body = json && text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (res.status >= 400) {
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(body.status).toBe(res.status);
      expect(problemCodes(op, status), `${key} ${status}`).toContain(body.code as ErrorCode);
    }
    return body;
  }

  const call = (method: string, path: string, init: { token?: string; body?: string; type?: string } = {}) =>
    fetch(`${standalone().url}${path.replace(/\{[^}]+\}/g, 'job-1')}`, {
      method,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  const token = (roles: Role[]) => tokenFor('openapi-test', roles);

  it('every operation that needs a token answers 401 unauthenticated without one', async () => {
    const secured = operations(standalone().doc).filter(([, op]) => op.security?.length);
    expect(secured.length).toBeGreaterThan(10);
    for (const [key] of secured) {
      const [method, path] = key.split(' ');
      const body = await expectDocumented(key, await call(method, path));
      expect(body.code, key).toBe('unauthenticated');
    }
  });

  it('every role-limited operation answers 403 forbidden to a token without its roles', async () => {
    const { doc, routes } = standalone();
    const limited = operations(doc).filter(([, op]) => routes.get(op.operationId)?.access.kind === 'roles');
    expect(limited.map(([key]) => key)).toEqual(expect.arrayContaining(ROLE_LIMITED));
    // `worker` is a real role (worker results on Kafka) that no HTTP route admits.
    const worker = await token(['worker']);
    for (const [key] of limited) {
      const [method, path] = key.split(' ');
      const body = await expectDocumented(key, await call(method, path, { token: worker }));
      expect(body.code, key).toBe('forbidden');
    }
  });

  it('ops routes answer without a token', async () => {
    for (const key of ['GET /metrics', 'GET /health/live', 'GET /health/ready', 'GET /.well-known/jwks.json']) {
      const [method, path] = key.split(' ');
      const res = await call(method, path);
      expect([200, 503], key).toContain(res.status);
      await expectDocumented(key, res);
    }
  });

  it('bad bodies answer 400 / 415 with a documented code', async () => {
    const submitter = await token(['submitter']);
    const reviewer = await token(['reviewer']);
    const admin = await token(['admin']);
    expect((await expectDocumented('POST /api/v1/jobs', await call('POST', '/api/v1/jobs', { token: submitter, body: '{}' }))).code).toBe('invalid_request');
    expect((await expectDocumented('POST /api/v1/jobs', await call('POST', '/api/v1/jobs', { token: submitter, body: '{"topic":', type: 'application/json' }))).code).toBe('invalid_request');
    expect((await expectDocumented('POST /api/v1/jobs', await call('POST', '/api/v1/jobs', { token: submitter, body: '<job/>', type: 'application/xml' }))).code).toBe('unsupported_media_type');
    expect((await expectDocumented('POST /api/v1/jobs', await call('POST', '/api/v1/jobs', { token: submitter, body: JSON.stringify({ topic: 'x', labels: { approval_granted: 'true' } }) }))).code).toBe('reserved_label');
    expect((await expectDocumented('POST /api/v1/approvals/{job_id}/reject', await call('POST', '/api/v1/approvals/{job_id}/reject', { token: reviewer, body: '{}' }))).code).toBe('invalid_request');
    expect((await expectDocumented('PUT /api/v1/policy', await call('PUT', '/api/v1/policy', { token: admin, body: 'rules: [', type: 'application/yaml' }))).code).toBe('invalid_policy');
    expect((await expectDocumented('POST /api/v1/policy/evaluate', await call('POST', '/api/v1/policy/evaluate', { token: submitter, body: '{"priority":1}' }))).code).toBe('invalid_request');
    expect((await expectDocumented('GET /api/v1/jobs/{id}', await call('GET', '/api/v1/jobs/{id}', { token: submitter }))).code).toBe('not_found');
  });

  it('POST /policy/evaluate is a dry run answered 200; GET /policy names the bundle version and the activation apart', async () => {
    const submitter = await token(['submitter']);
    const dry = await call('POST', '/api/v1/policy/evaluate', { token: submitter, body: JSON.stringify({ topic: 'knowledge.read' }) });
    expect(dry.status).toBe(200);
    expect(await expectDocumented('POST /api/v1/policy/evaluate', dry)).toMatchObject({ decision: expect.any(String), policy_snapshot: expect.stringMatching(/^sha256:/) });
    expect(operation('POST /api/v1/policy/evaluate').responses['201']).toBeUndefined();

    const policy = await expectDocumented('GET /api/v1/policy', await call('GET', '/api/v1/policy', { token: submitter }));
    expect(policy).toMatchObject({ version: 'v1', activation: 1, snapshot: expect.stringMatching(/^sha256:/) });
    const schema = standalone().doc.components.schemas.ActivePolicyDoc;
    expect(schema.required).toEqual(expect.arrayContaining(['snapshot', 'version', 'activation']));
  });
});
