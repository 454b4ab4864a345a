import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { context as otelContext, Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Observable } from 'rxjs';
import { contextFromTraceparent, TRACEPARENT_HEADER, TRACER_NAME } from './tracing';

interface HttpRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly routeOptions?: { readonly url?: string };
  readonly protocol?: string;
}

interface GrpcCallLike {
  getPath?: () => string;
}

interface GrpcMetadataLike {
  get?: (key: string) => unknown[];
}

/** gRPC status codes of the HTTP statuses Signoff's errors carry (same mapping as the gateway's filter). */
function grpcStatusOf(httpStatus: number): number {
  if (httpStatus === 400) return 3; // INVALID_ARGUMENT
  if (httpStatus === 401) return 16; // UNAUTHENTICATED
  if (httpStatus === 403) return 7; // PERMISSION_DENIED
  if (httpStatus === 404) return 5; // NOT_FOUND
  if (httpStatus === 409) return 9; // FAILED_PRECONDITION
  if (httpStatus === 429 || httpStatus === 503) return 14; // UNAVAILABLE
  return 13; // INTERNAL
}

function statusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 100 && status <= 599 ? status : 500;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[a-z0-9_.-]{1,64}$/i.test(code) ? code : undefined;
}

/**
 * The ingress span of every HTTP request a controller handles (`POST /api/v1/jobs/:id`, kind
 * SERVER, HTTP semantic conventions: method, route template, path, status; no query string, no
 * header but `traceparent`) and of every gRPC call (`signoff.v1.Approvals/Approve`, RPC
 * conventions). The handler runs inside it, so the policy evaluation, the appends and the events'
 * `traceparent` belong to the request's trace; a caller's valid `traceparent` makes it a child of
 * the caller's span, a malformed one is ignored. Requests refused by a guard (401, 403) never
 * reach an interceptor and have no span. Registered only when tracing is on (see runService);
 * bus messages are traced by the message bus, not here.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  constructor(private readonly transport: 'http' | 'grpc') {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.transport === 'http' && ctx.getType() === 'http') return this.http(ctx, next);
    if (this.transport === 'grpc' && ctx.getType() === 'rpc') return this.grpc(ctx, next);
    return next.handle();
  }

  private http(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = ctx.switchToHttp().getRequest<HttpRequestLike>();
    const reply = ctx.switchToHttp().getResponse<{ statusCode?: number }>();
    const route = request.routeOptions?.url;
    const path = request.url.split('?')[0];
    const header = request.headers[TRACEPARENT_HEADER];
    return this.run(
      route ? `${request.method} ${route}` : request.method,
      SpanKind.SERVER,
      {
        'http.request.method': request.method,
        'url.path': path,
        'url.scheme': request.protocol === 'https' ? 'https' : 'http',
        ...(route ? { 'http.route': route } : {}),
      },
      typeof header === 'string' ? header : undefined,
      next,
      (span, error) => {
        const status = error === undefined ? (reply.statusCode ?? 200) : statusOf(error);
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) {
          span.setAttribute('error.type', codeOf(error) ?? String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      },
    );
  }

  private grpc(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const rpc = ctx.switchToRpc();
    const metadata = rpc.getContext<GrpcMetadataLike>();
    const call = ctx.getArgByIndex<GrpcCallLike | undefined>(2);
    const path = typeof call?.getPath === 'function' ? call.getPath() : `/${ctx.getClass().name}/${ctx.getHandler().name}`;
    const [service, method] = path.replace(/^\//, '').split('/');
    const header = typeof metadata?.get === 'function' ? metadata.get(TRACEPARENT_HEADER)[0] : undefined;
    return this.run(
      `${service}/${method}`,
      SpanKind.SERVER,
      { 'rpc.system': 'grpc', 'rpc.service': service, 'rpc.method': method },
      typeof header === 'string' ? header : undefined,
      next,
      (span, error) => {
        const status = error === undefined ? 0 : grpcStatusOf(statusOf(error));
        span.setAttribute('rpc.grpc.status_code', status);
        if (status === 13 || status === 14) {
          span.setAttribute('error.type', codeOf(error) ?? String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
      },
    );
  }

  private run(
    name: string,
    kind: SpanKind,
    attributes: Record<string, string>,
    traceparent: string | undefined,
    next: CallHandler,
    finish: (span: Span, error?: unknown) => void,
  ): Observable<unknown> {
    return new Observable((subscriber) => {
      const parent = contextFromTraceparent(traceparent) ?? otelContext.active();
      const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes }, parent);
      let ended = false;
      const end = (error?: unknown) => {
        if (ended) return;
        ended = true;
        finish(span, error);
        span.end();
      };
      // Subscribing inside the span's context runs the handler (Nest defers it to subscription) there.
      const subscription = otelContext.with(trace.setSpan(parent, span), () =>
        next.handle().subscribe({
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            end(error);
            subscriber.error(error);
          },
          complete: () => {
            end();
            subscriber.complete();
          },
        }),
      );
      // A stream (SSE) the client left ends its span too.
      return () => {
        subscription.unsubscribe();
        end();
      };
    });
  }
}
