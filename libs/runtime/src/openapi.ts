import { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ERROR_CODES, ErrorCode, ProblemDto } from '@signoff/contracts';
import { routeAccess } from './auth/auth.guard';
import { declaredProblemNotes, declaredProblems, FRAMEWORK_PROBLEMS, problemsByStatus, RouteAccess, routeProblemCodes } from './route-problems';

/** The security scheme of every authenticated operation. */
export const BEARER_SCHEME = 'bearer';

/** What the document needs to know of a route handler beyond the swagger decorators. */
export interface DocumentedRoute {
  /** The controller method (its Nest and swagger metadata). */
  readonly handler?: object;
  readonly access: RouteAccess;
  /** `@ApiProblems` codes. */
  readonly declared: readonly ErrorCode[];
  readonly notes: Partial<Record<ErrorCode, string>>;
}

const PROBLEM_SCHEMA_REF = `#/components/schemas/${ProblemDto.name}`;
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

interface ResponseLike {
  description?: string;
  content?: Record<string, unknown>;
}
interface OperationLike {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, ResponseLike>;
}

/**
 * The OpenAPI document of an app: generated from the controllers and DTOs, then completed from
 * each route's access and `@ApiProblems` (see {@link completeOpenApiDocument}).
 */
export function buildOpenApiDocument(app: INestApplication, title: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle(title)
    .setDescription(
      'Signoff: the approval control plane. Every error is RFC 9457 application/problem+json with a stable `code` ' +
        '(the ProblemDto schema; each response lists the codes it may carry, the `default` response those of the HTTP parser and router). ' +
        'Authenticate with `Authorization: Bearer <JWT>` (roles: submitter, reviewer, admin, auditor); operations with `security: []` take no token.',
    )
    .setVersion('v1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .addSecurityRequirements(BEARER_SCHEME)
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] });
  return completeOpenApiDocument(document, describeRoutes(app));
}

/** OpenAPI at `/docs` (UI) and `/docs/json` (see {@link buildOpenApiDocument}). */
export function setupOpenApi(app: NestFastifyApplication, title: string): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app, title), { jsonDocumentUrl: 'docs/json', useGlobalPrefix: false });
}

/**
 * Completes a generated document from what the routes are. For every operation: `security` is
 * `[]` for a public route (no token) and the bearer scheme otherwise; one problem+json response
 * per status of {@link routeProblemCodes} whose schema restricts `code` to the codes of that
 * status; a `default` response for the framework's refusals. Pure (mutates and returns
 * `document`). Throws when an operation matches no route handler, or when an error response was
 * written by hand instead of declared with `@ApiProblems` (one source of truth).
 */
export function completeOpenApiDocument(document: OpenAPIObject, routes: ReadonlyMap<string, DocumentedRoute>): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = (item as Record<string, OperationLike | undefined>)[method];
      if (!operation) continue;
      const route = operation.operationId ? routes.get(operation.operationId) : undefined;
      if (!route) throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} (${operation.operationId ?? 'no operationId'}) matches no route handler`);
      operation.security = route.access.kind === 'public' ? [] : [{ [BEARER_SCHEME]: [] }];
      const byStatus = problemsByStatus(routeProblemCodes({ method, access: route.access, declared: route.declared }));
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) >= 400 && !byStatus.has(Number(status)) && JSON.stringify(response).includes(PROBLEM_SCHEMA_REF)) {
          throw new Error(`OpenAPI: ${method.toUpperCase()} ${path} documents a ${status} problem by hand: declare its codes with @ApiProblems`);
        }
      }
      const notes = { ...accessNotes(route.access), ...route.notes };
      for (const [status, codes] of byStatus) operation.responses[String(status)] = problemResponse(codes, notes);
      operation.responses.default = problemResponse(FRAMEWORK_PROBLEMS, FRAMEWORK_NOTES, 'Refused before the route, or an unexpected failure');
    }
  }
  return document;
}

/** What the codes a route answers for its access and body mean, unless the route says more. */
function accessNotes(access: RouteAccess): Partial<Record<ErrorCode, string>> {
  return {
    unauthenticated: 'no bearer token, or an invalid or expired one',
    auth_unavailable: 'the identity provider (AUTH_JWKS_URL) cannot be reached; says nothing about the token',
    ...(access.kind === 'roles' ? { forbidden: `the token has none of the roles ${access.roles.join(', ')}` } : {}),
    payload_too_large: 'a body over 1 MiB',
    unsupported_media_type: 'a Content-Type other than JSON (or YAML where accepted)',
  };
}

const FRAMEWORK_NOTES: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'a malformed request line or URL',
  request_timeout: 'the request was not received in time',
  uri_too_long: 'a path parameter over the limit',
  headers_too_large: 'the request line and headers over the limit',
  internal: 'an unexpected failure, without details',
};

/** A problem+json response whose `code` is one of `codes`. */
export function problemResponse(codes: readonly ErrorCode[], notes: Partial<Record<ErrorCode, string>>, lead?: string): ResponseLike {
  const listed = codes.map((code) => {
    const status = lead ? ` (${ERROR_CODES[code]})` : '';
    return notes[code] ? `\`${code}\`${status}: ${notes[code]}` : `\`${code}\`${status}`;
  });
  return {
    description: `${lead ? `${lead}: ` : ''}${listed.join('; ')}`,
    content: {
      'application/problem+json': {
        schema: { allOf: [{ $ref: PROBLEM_SCHEMA_REF }, { type: 'object', properties: { code: { type: 'string', enum: [...codes] } } }] },
      },
    },
  };
}

/**
 * Every controller method of the app by the operation id the swagger explorer gives it
 * (`<Controller>_<method>`), with its access and declared problems.
 */
export function describeRoutes(app: INestApplication): Map<string, DocumentedRoute> {
  const routes = new Map<string, DocumentedRoute>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller?.prototype) continue;
      for (const [name, handler] of controllerMethods(controller)) {
        routes.set(`${controller.name}_${name}`, { handler, access: routeAccess(controller, handler), declared: declaredProblems(handler), notes: declaredProblemNotes(handler) });
      }
    }
  }
  return routes;
}

/** The methods of a controller class, its own and inherited ones. */
function controllerMethods(controller: Type<unknown>): Map<string, object> {
  const methods = new Map<string, object>();
  for (let proto = controller.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value as unknown;
      if (name !== 'constructor' && typeof value === 'function' && !methods.has(name)) methods.set(name, value);
    }
  }
  return methods;
}
