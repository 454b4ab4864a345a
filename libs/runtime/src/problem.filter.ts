import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { SignoffError } from '@signoff/contracts';
import { Observable, throwError } from 'rxjs';

interface ReplyLike {
  status(code: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(body: unknown): unknown;
}
interface RequestLike {
  url?: string;
}

/**
 * The one place errors become HTTP responses: RFC 9457 problem+json with Signoff's `code`.
 * SignoffError keeps its code and status; Nest/Fastify HTTP errors get the nearest code; anything
 * else is logged and answered 500 `internal` without internals. Errors of other transports that
 * inherit the app's config (the message bus) are passed on unchanged: the bus classifies them.
 */
@Catch()
export class ProblemJsonFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemJsonFilter');

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> {
    if (host.getType() !== 'http') return throwError(() => exception);
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<ReplyLike>();
    const request = ctx.getRequest<RequestLike>();
    const error = toSignoffError(exception);
    if (error.code === 'internal') this.logger.error(exception instanceof Error ? exception.stack ?? exception.message : String(exception));
    let r = reply.status(error.status).header('Content-Type', 'application/problem+json');
    for (const [name, value] of Object.entries(error.headers)) r = r.header(name, value);
    r.send(error.toProblem(request.url?.split('?')[0]));
  }
}

/** Maps anything thrown to a SignoffError with a stable code. */
export function toSignoffError(exception: unknown): SignoffError {
  if (exception instanceof SignoffError) return exception;
  const status =
    exception instanceof HttpException
      ? exception.getStatus()
      : typeof (exception as { statusCode?: unknown })?.statusCode === 'number'
        ? (exception as { statusCode: number }).statusCode
        : 500;
  const message = exception instanceof Error ? exception.message : 'unexpected error';
  switch (status) {
    case 400:
      return new SignoffError('invalid_request', message);
    case 401:
      return new SignoffError('unauthenticated', message);
    case 403:
      return new SignoffError('forbidden', message);
    case 404:
      return new SignoffError('not_found', 'no such resource');
    case 408:
      return new SignoffError('request_timeout', 'the request was not received in time');
    case 413:
      return new SignoffError('payload_too_large', 'request body exceeds the limit');
    case 414:
      return new SignoffError('uri_too_long', 'the request URI is too long');
    case 415:
      return new SignoffError('unsupported_media_type', message);
    case 431:
      return new SignoffError('headers_too_large', 'the request header fields are too large');
    default:
      // Any other client error the framework raises is still the client's: never a 500.
      return status >= 400 && status < 500 ? new SignoffError('invalid_request', message) : new SignoffError('internal', 'internal error');
  }
}
