export * from './principal';
export { JwtVerifier, mintToken, authOptionsFrom, AUTH_CLOCK_SKEW_SECONDS, type AuthOptions } from './jwt.verifier';
export { AuthGuard, Roles, Public, CurrentPrincipal, routeAccess } from './auth.guard';
export { AuthModule } from './auth.module';
