import { Injectable } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { SignoffError } from '@signoff/contracts';
import { hasAnyRole, JwtVerifier, Principal, Role } from '@signoff/runtime';

/**
 * Authentication of the gRPC gateway: metadata `authorization: Bearer <JWT>`, verified by the same
 * JwtVerifier as HTTP (401 -> UNAUTHENTICATED), then the method's roles (403 -> PERMISSION_DENIED).
 * The global HTTP guard does not run for RPC contexts.
 */
@Injectable()
export class GrpcAuth {
  constructor(private readonly verifier: JwtVerifier) {}

  async principal(metadata: Metadata | undefined, roles: readonly Role[]): Promise<Principal> {
    const value = metadata?.get('authorization')[0];
    const principal = await this.verifier.verifyHeader(typeof value === 'string' ? value : undefined);
    if (!hasAnyRole(principal, roles)) throw new SignoffError('forbidden', `requires one of the roles: ${roles.join(', ')}`);
    return principal;
  }
}
