import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { Metadata } from '@grpc/grpc-js';
import { grpcStatusFor, SignoffError } from '@signoff/contracts';
import { toSignoffError } from '@signoff/runtime';
import { Observable, throwError } from 'rxjs';

/** Trailer with the stable error code (same as the status details). */
export const CODE_TRAILER = 'signoff-code';
/** Binary trailer with the problem document, exactly the HTTP problem+json body (UTF-8 JSON). */
export const PROBLEM_TRAILER = 'signoff-problem-bin';

/** What grpc-js sends for a failed call: status code, details, trailers. */
export interface GrpcError {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

/**
 * DESIGN section 5 on the wire. The status code comes from `grpcStatusFor(code)` (409 cases ->
 * FAILED_PRECONDITION, 404 -> NOT_FOUND, 401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED,
 * 400 -> INVALID_ARGUMENT, busy/503 -> UNAVAILABLE). The status details are the stable code
 * itself (`snapshot_changed`), so a client switches on `error.details` as an HTTP client switches
 * on `code`; the trailers carry it again (`signoff-code`), the whole problem document with the
 * human message and the extension members such as `expected`/`current` (`signoff-problem-bin`),
 * and `retry-after` when the HTTP answer has a Retry-After.
 */
export function toGrpcError(exception: unknown, instance?: string): GrpcError {
  const error = toSignoffError(exception);
  const metadata = new Metadata();
  metadata.set(CODE_TRAILER, error.code);
  metadata.set(PROBLEM_TRAILER, Buffer.from(JSON.stringify(error.toProblem(instance)), 'utf8'));
  const retryAfter = error.headers['Retry-After'];
  if (retryAfter) metadata.set('retry-after', retryAfter);
  return { code: grpcStatusFor(error.code), details: error.code, metadata };
}

/** Reads the problem document back from a gRPC error's trailers (clients, tests). */
export function problemOf(metadata: Metadata | undefined): Record<string, unknown> | null {
  const raw = metadata?.get(PROBLEM_TRAILER)[0];
  if (!raw) return null;
  return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw) as Record<string, unknown>;
}

/** The one place errors of the gRPC gateway become statuses (the HTTP twin is ProblemJsonFilter). */
@Catch()
export class GrpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('GrpcErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const rpc = host.switchToRpc();
    const grpcError = toGrpcError(exception, describeCall(rpc.getContext()));
    if (!(exception instanceof SignoffError) && grpcError.details === 'internal') {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    return throwError(() => grpcError);
  }
}

function describeCall(context: unknown): string | undefined {
  const path = (context as { getPath?: () => string } | undefined)?.getPath?.();
  return typeof path === 'string' ? path : undefined;
}
