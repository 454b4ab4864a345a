import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SignoffError } from '@signoff/contracts';
import { OpsController } from '@signoff/observability';
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

/** The authenticated caller of the current request. */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<RequestWithPrincipal>().principal;
  if (!principal) throw new SignoffError('unauthenticated', 'no principal on the request');
  return principal;
});

/** Authenticates every HTTP route of the API (401 `unauthenticated`) and checks its roles (403 `forbidden`). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly verifier: JwtVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    // Health probes and Prometheus scrapes carry no token.
    if (context.getClass() === OpsController) return true;
    const roles = this.reflector.getAllAndOverride<Role[] | 'public' | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles === 'public') return true;
    const request = context.switchToHttp().getRequest<RequestWithPrincipal>();
    const header = request.headers.authorization;
    const principal = await this.verifier.verifyHeader(Array.isArray(header) ? header[0] : header);
    request.principal = principal;
    if (roles && roles.length > 0 && !hasAnyRole(principal, roles)) {
      throw new SignoffError('forbidden', `requires one of the roles: ${roles.join(', ')}`);
    }
    return true;
  }
}
