import 'reflect-metadata';
import { OpenAPIObject } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@signoff/contracts';
import { OpsController } from '@signoff/observability';
import { Public, Roles, routeAccess } from './auth/auth.guard';
import { completeOpenApiDocument, DocumentedRoute } from './openapi';
import { ApiProblems, declaredProblemNotes, declaredProblems, FRAMEWORK_PROBLEMS, problemsByStatus, routeProblemCodes } from './route-problems';

class SampleController {
  @Roles('reviewer')
  @ApiProblems(['not_found'], { not_found: 'another tenant too' })
  @ApiProblems(['busy', 'not_found'])
  decide(): void {}

  @Public()
  keys(): void {}

  @Roles()
  anyToken(): void {}
}

@Roles('admin')
class AdminController {
  list(): void {}
}

describe('routeAccess (what the guard enforces and the document says)', () => {
  it('reads @Roles and @Public of the handler, else of the controller; the ops controller is public', () => {
    expect(routeAccess(SampleController, SampleController.prototype.decide)).toEqual({ kind: 'roles', roles: ['reviewer'] });
    expect(routeAccess(SampleController, SampleController.prototype.keys)).toEqual({ kind: 'public' });
    expect(routeAccess(SampleController, SampleController.prototype.anyToken)).toEqual({ kind: 'token' });
    expect(routeAccess(AdminController, AdminController.prototype.list)).toEqual({ kind: 'roles', roles: ['admin'] });
    expect(routeAccess(OpsController, OpsController.prototype.live)).toEqual({ kind: 'public' });
  });
});

describe('@ApiProblems and routeProblemCodes', () => {
  it('adds up repeated declarations and their notes', () => {
    expect([...declaredProblems(SampleController.prototype.decide)].sort()).toEqual(['busy', 'not_found']);
    expect(declaredProblemNotes(SampleController.prototype.decide)).toEqual({ not_found: 'another tenant too' });
    expect(declaredProblems(SampleController.prototype.keys)).toEqual([]);
  });

  it('adds 401 and the key set 503 to every route with a token, 403 to role-limited ones, the body codes to POST/PUT/PATCH/DELETE', () => {
    expect(routeProblemCodes({ method: 'get', access: { kind: 'public' }, declared: [] })).toEqual([]);
    expect(routeProblemCodes({ method: 'get', access: { kind: 'token' }, declared: ['not_found'] })).toEqual(['unauthenticated', 'not_found', 'auth_unavailable']);
    expect(routeProblemCodes({ method: 'GET', access: { kind: 'roles', roles: ['admin'] }, declared: [] })).toEqual(['unauthenticated', 'forbidden', 'auth_unavailable']);
    expect(routeProblemCodes({ method: 'delete', access: { kind: 'public' }, declared: ['busy'] })).toEqual(['invalid_request', 'payload_too_large', 'unsupported_media_type', 'busy']);
  });

  it('groups codes by their ERROR_CODES status, ascending', () => {
    expect([...problemsByStatus(['busy', 'not_found', 'store_unavailable', 'forbidden', 'policy_denied'])]).toEqual([
      [403, ['forbidden', 'policy_denied']],
      [404, ['not_found']],
      [503, ['busy', 'store_unavailable']],
    ]);
  });

  it('documents framework refusals with codes that exist', () => {
    for (const code of FRAMEWORK_PROBLEMS) expect(ERROR_CODES[code]).toBeGreaterThanOrEqual(400);
  });
});

type Operation = { operationId: string; security?: unknown; responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }> };

function documentOf(paths: Record<string, Record<string, Operation>>): OpenAPIObject {
  return { openapi: '3.0.0', info: { title: 't', version: 'v1' }, paths } as unknown as OpenAPIObject;
}

const problemRef = { $ref: '#/components/schemas/ProblemDto' };
const routes = new Map<string, DocumentedRoute>([
  ['Jobs_decide', { access: { kind: 'roles', roles: ['reviewer'] }, declared: ['not_found', 'busy', 'already_rejected'], notes: { busy: 'with Retry-After' } }],
  ['Ops_live', { access: { kind: 'public' }, declared: [], notes: {} }],
]);

describe('completeOpenApiDocument', () => {
  it('sets security, one problem+json response per status with its code enum, and the default response', () => {
    const document = completeOpenApiDocument(
      documentOf({
        '/api/v1/jobs/{id}/decide': { post: { operationId: 'Jobs_decide', responses: { '200': { description: 'ok' } } } },
        '/health/live': { get: { operationId: 'Ops_live', responses: { '200': { description: 'ok' } } } },
      }),
      routes,
    );
    const decide = document.paths['/api/v1/jobs/{id}/decide'].post as unknown as Operation;
    expect(decide.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(decide.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '413', '415', '503', 'default']);
    const enumOf = (status: string) => {
      const schema = decide.responses[status].content?.['application/problem+json'].schema as { allOf: [unknown, { properties: { code: { enum: string[] } } }] };
      expect(schema.allOf[0]).toEqual(problemRef);
      return schema.allOf[1].properties.code.enum;
    };
    expect(enumOf('503')).toEqual(['busy', 'auth_unavailable']);
    expect(enumOf('403')).toEqual(['forbidden']);
    expect(enumOf('409')).toEqual(['already_rejected']);
    expect(enumOf('default')).toEqual([...FRAMEWORK_PROBLEMS]);
    expect(decide.responses['503'].description).toContain('`busy`: with Retry-After');
    expect(decide.responses['403'].description).toContain('none of the roles reviewer');

    const live = document.paths['/health/live'].get as unknown as Operation;
    expect(live.security).toEqual([]);
    expect(Object.keys(live.responses).sort()).toEqual(['200', 'default']);
  });

  it('refuses an operation no route handler answers, and a problem response written by hand', () => {
    expect(() => completeOpenApiDocument(documentOf({ '/x': { get: { operationId: 'Nobody_home', responses: {} } } }), routes)).toThrow(/matches no route handler/);
    const byHand = { operationId: 'Ops_live', responses: { '404': { description: 'gone', content: { 'application/json': { schema: problemRef } } } } };
    expect(() => completeOpenApiDocument(documentOf({ '/health/live': { get: byHand } }), routes)).toThrow(/declare its codes with @ApiProblems/);
  });
});
