export * from './principal';
export { JwtVerifier, mintToken, type AuthOptions } from './jwt.verifier';
export { AuthGuard, Roles, Public, CurrentPrincipal } from './auth.guard';
export { AuthModule } from './auth.module';
