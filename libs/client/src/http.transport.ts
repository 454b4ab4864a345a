import { errorOfAnswer, parseRetryAfter, SignoffApiError } from './signoff-api.error';

/** A bearer token, or a function returning a fresh one (called before every request). */
export type TokenSource = string | (() => string | Promise<string>);

/** When the client repeats a call by itself. */
export interface RetryOptions {
  /** Attempts per call, the first included (default 4; 1 = never retry). */
  readonly maxAttempts?: number;
  /** The longest wait between attempts; a longer Retry-After is not waited for (default 10 s). */
  readonly maxDelayMs?: number;
}

export interface TransportOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (a trailing `/api/v1` is accepted). */
  readonly baseUrl: string;
  readonly token: TokenSource;
  /** Per-request timeout, the body included (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Answers larger than this are refused `response_too_large` (default 4 MiB). */
  readonly maxResponseBytes?: number;
  readonly retry?: RetryOptions;
  /** The fetch to use (default: Node's global fetch). */
  readonly fetch?: typeof fetch;
}

export interface CallOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /**
   * The call may be sent again when no answer arrived (a connection error): GETs, and POSTs the
   * API answers idempotently (a submit with its job_id, approve, reject). A 503 with Retry-After
   * is retried whatever this says: the API states nothing happened.
   */
  readonly idempotent: boolean;
}

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

/** Why an attempt failed and whether (and after how long) the call may be repeated. Pure. */
export function retryDelay(error: SignoffApiError, attempt: number, idempotent: boolean, retry: Required<RetryOptions>, random = Math.random): number | null {
  if (attempt >= retry.maxAttempts) return null;
  if (error.status === 503 && error.retryAfterMs !== null) return error.retryAfterMs <= retry.maxDelayMs ? error.retryAfterMs : null;
  if (error.code === 'network_error' && idempotent) return Math.min(retry.maxDelayMs, 200 * 2 ** (attempt - 1) * (0.5 + random() / 2));
  return null;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads a body up to `limit` bytes (`response_too_large` past it). */
export async function readBounded(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => undefined);
    throw new SignoffApiError('response_too_large', `the answer declares ${declared} bytes, more than ${limit}`, res.status);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new SignoffApiError('response_too_large', `the answer is larger than ${limit} bytes`, res.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The client's one way to the API: bearer token, timeout, bounded bodies, problem+json errors,
 * and retries only where the API says they are safe.
 */
export class HttpTransport {
  readonly apiBase: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly retry: Required<RetryOptions>;

  constructor(private readonly options: TransportOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`baseUrl must be http(s): ${options.baseUrl}`);
    this.apiBase = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}/api/v1`;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.maxBytes = options.maxResponseBytes ?? 4 * 1024 * 1024;
    this.retry = { maxAttempts: options.retry?.maxAttempts ?? 4, maxDelayMs: options.retry?.maxDelayMs ?? 10_000 };
  }

  url(path: string, query: Readonly<Record<string, string | undefined>> = {}): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
    const search = params.toString();
    return `${this.apiBase}${path}${search ? `?${search}` : ''}`;
  }

  async authorization(): Promise<string> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    return `Bearer ${token}`;
  }

  /** Sends one API call (retried as {@link retryDelay} allows) and answers its JSON body. */
  async call(method: string, path: string, options: CallOptions): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, path, options);
      } catch (error) {
        if (!(error instanceof SignoffApiError)) throw error;
        const delay = retryDelay(error, attempt, options.idempotent, this.retry);
        if (delay === null) throw error;
        await sleep(delay, options.signal);
      }
    }
  }

  /**
   * Opens a response whose body the caller reads (the SSE stream): status and problem handling
   * as for a call; the timeout covers the headers only.
   */
  async open(path: string, options: { query?: Readonly<Record<string, string | undefined>>; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new SignoffApiError('timeout', `GET ${path}: no headers within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      if (options.signal?.aborted) throw options.signal.reason;
      const res = await this.send('GET', this.url(path, options.query), { ...options.headers, accept: 'text/event-stream' }, undefined, controller.signal, options.signal);
      clearTimeout(timer);
      // The caller reads the body; aborting its signal ends the stream.
      if (res.status === 200) return res;
      const text = await readBounded(res, this.maxBytes);
      throw errorOfAnswer(res.status, parseBody(text), parseRetryAfter(res.headers.get('retry-after')));
    } catch (error) {
      options.signal?.removeEventListener('abort', onAbort);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async once(method: string, path: string, options: CallOptions): Promise<Answer> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new SignoffApiError('timeout', `${method} ${path}: no complete answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      if (options.signal?.aborted) throw options.signal.reason;
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await this.send(method, this.url(path, options.query), headers, options.body === undefined ? undefined : JSON.stringify(options.body), controller.signal, options.signal);
      const text = await this.guard(readBounded(res, this.maxBytes), controller.signal, options.signal);
      const body = parseBody(text);
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      if (res.status < 200 || res.status > 299) throw errorOfAnswer(res.status, body, retryAfterMs);
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new SignoffApiError('invalid_response', `${method} ${path}: HTTP ${res.status} with a body that is not a JSON object`, res.status);
      }
      return { status: res.status, body: body as Record<string, unknown>, headers: res.headers };
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, callerSignal?: AbortSignal): Promise<Response> {
    const authorization = await this.authorization();
    try {
      return await this.fetch(url, { method, headers: { ...headers, authorization }, body, signal, redirect: 'error' });
    } catch (error) {
      throw this.failure(error, signal, callerSignal);
    }
  }

  /** A body read under the call's signal: an abort or timeout while reading surfaces as such. */
  private async guard<T>(work: Promise<T>, signal: AbortSignal, callerSignal?: AbortSignal): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw this.failure(error, signal, callerSignal);
    }
  }

  private failure(error: unknown, signal: AbortSignal, callerSignal?: AbortSignal): unknown {
    if (callerSignal?.aborted) return callerSignal.reason;
    if (signal.aborted) return signal.reason instanceof SignoffApiError ? signal.reason : new SignoffApiError('timeout', 'no answer in time', 0, {}, null, { cause: signal.reason });
    if (error instanceof SignoffApiError) return error;
    return new SignoffApiError('network_error', `no answer from ${this.apiBase}: ${(error as Error)?.message ?? String(error)}`, 0, {}, null, { cause: error });
  }
}
