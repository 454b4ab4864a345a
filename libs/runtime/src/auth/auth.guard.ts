import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { SignoffError } from '@signoff/contracts';
import { OpsController } from '@signoff/observability';
import type { RouteAccess } from '../route-problems';
import { JwtVerifier } from './jwt.verifier';
import { hasAnyRole, Principal, Role } from './principal';

const ROLES_KEY = 'signoff:roles';

/** Roles allowed to call a route (any of them). Routes without it only need a valid token. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** Marks a route public (no token). */
export const Public = () => SetMetadata(ROLES_KEY, 'public');

interface RequestWithPrincipal {
  headers: Record<string, string | string[] | undefined>;
  principal?: Principal;
}

/**
 * Who may call a route, from its `@Roles` / `@Public` (the handler's, else its controller's): what
 * the guard enforces and what the OpenAPI document says. The ops endpoints (health probes,
 * Prometheus scrapes) carry no token.
 */
export function routeAccess(controller: object, handler: object): RouteAccess {
  if (controller === OpsController) return { kind: 'public' };
  const roles = (Reflect.getMetadata(ROLES_KEY, handler) ?? Reflect.getMetadata(ROLES_KEY, controller)) as Role[] | 'public' | undefined;
  if (roles === 'public') return { kind: 'public' };
  return roles && roles.length > 0 ? { kind: 'roles', roles } : { kind: 'token' };
}

/** The authenticated caller of the current request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal) throw new SignoffError('unauthenticated', 'no principal on the request');
  return principal;
});

/** Authenticates every HTTP route of the API (401 `unauthenticated`) and checks its roles (403 `forbidden`). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly verifier: JwtVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = routeAccess(context.getClass(), context.getHandler());
    if (access.kind === 'public') return true;
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    const header = request.headers.authorization;
    const principal = await this.verifier.verifyHeader(Array.isArray(header) ? header[0] : header);
    request.principal = principal;
    if (access.kind === 'roles' && !hasAnyRole(principal, access.roles)) {
      throw new SignoffError('forbidden', `requires one of the roles: ${access.roles.join(', ')}`);
    }
    return true;
  }
}
