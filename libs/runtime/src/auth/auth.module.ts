import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { AuthOptions, JwtVerifier } from './jwt.verifier';

/** JWT authentication for the API routes (global guard). */
@Module({})
export class AuthModule {
  static forRoot(options: AuthOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [{ provide: JwtVerifier, useValue: new JwtVerifier(options) }, { provide: APP_GUARD, useClass: AuthGuard }],
      exports: [JwtVerifier],
    };
  }
}
