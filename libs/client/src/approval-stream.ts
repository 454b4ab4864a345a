import type { ApprovalChange } from './api.types';
import { sleep } from './http.transport';
import { SignoffApiError } from './signoff-api.error';
import type { SignoffClient } from './signoff.client';
import { SseOverflowError, SseParser } from './sse.parser';

export interface WatchOptions {
  /** A topic or a glob (`finance.*`): only its approvals. */
  readonly topic?: string;
  /** Resume after this change id (the `id` of the last change received). */
  readonly lastEventId?: string;
  readonly signal?: AbortSignal;
  /** A stream that sends nothing (not even its 15 s heartbeat) for this long is reopened (default 45 s). */
  readonly idleMs?: number;
}

/** An error after which reopening the stream may help: no answer, a stall, a server error. */
export function isTransient(error: unknown): boolean {
  return error instanceof SignoffApiError && (error.code === 'network_error' || error.code === 'timeout' || error.status >= 500);
}

/** Back-off between reconnects: 250 ms doubling to 5 s, with jitter. */
export const reconnectDelay = (failures: number): number => Math.min(5_000, 250 * 2 ** Math.max(0, failures - 1)) * (0.5 + Math.random() / 2);

function changeOf(id: string, data: string): ApprovalChange | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  const change = parsed as { kind?: unknown; at?: unknown; approval?: { job_id?: unknown; tenant?: unknown; state?: unknown } };
  if (typeof change?.kind !== 'string' || typeof change.approval?.job_id !== 'string' || typeof change.approval.tenant !== 'string') return null;
  return { ...(parsed as Omit<ApprovalChange, 'id'>), id };
}

/** One open connection of `GET /approvals/stream`. */
export class ApprovalStream {
  private readonly parser = new SseParser();
  private readonly decoder = new TextDecoder();

  private constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly controller: AbortController,
    lastEventId: string | undefined,
  ) {
    this.resumeId = lastEventId;
  }

  private resumeId: string | undefined;

  /** Opens the stream: resolves once the server answered 200 (the stream is live then); rejects with the API's error otherwise. */
  static async open(client: SignoffClient, options: { topic?: string; lastEventId?: string; signal?: AbortSignal }): Promise<ApprovalStream> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) throw options.signal.reason;
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await client.http.open('/approvals/stream', {
        query: { topic: options.topic },
        headers: options.lastEventId ? { 'last-event-id': options.lastEventId } : {},
        signal: controller.signal,
      });
      if (!res.body) throw new SignoffApiError('invalid_response', 'the approval stream has no body', res.status);
      const type = res.headers.get('content-type') ?? '';
      if (!type.startsWith('text/event-stream')) {
        await res.body.cancel().catch(() => undefined);
        throw new SignoffApiError('invalid_response', `the approval stream answered ${type || 'no content type'}, not text/event-stream`, res.status);
      }
      controller.signal.addEventListener('abort', () => options.signal?.removeEventListener('abort', onAbort), { once: true });
      return new ApprovalStream(res.body.getReader(), controller, options.lastEventId);
    } catch (error) {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
      throw error;
    }
  }

  /** The id to resume after (the last change read, else the one the stream was opened with). */
  get lastEventId(): string | undefined {
    return this.resumeId;
  }

  /**
   * The changes that arrived next (possibly none: a heartbeat), or null when the server ended the
   * stream. Rejects `timeout` after `idleMs` without a byte, `invalid_response` when an event
   * breaks the parser's bounds.
   */
  async read(idleMs: number): Promise<ApprovalChange[] | null> {
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SignoffApiError('timeout', `the approval stream sent nothing for ${idleMs} ms`)), idleMs);
    });
    try {
      const chunk = await Promise.race([this.reader.read(), idle]).catch((error: unknown) => {
        if (this.controller.signal.aborted && !(error instanceof SignoffApiError)) throw this.controller.signal.reason;
        if (error instanceof SignoffApiError) throw error;
        throw new SignoffApiError('network_error', `the approval stream broke: ${(error as Error)?.message ?? String(error)}`, 0, {}, null, { cause: error });
      });
      if (chunk.done) return null;
      let events;
      try {
        events = this.parser.push(this.decoder.decode(chunk.value, { stream: true }));
      } catch (error) {
        if (error instanceof SseOverflowError) throw new SignoffApiError('invalid_response', error.message, 200);
        throw error;
      }
      const changes: ApprovalChange[] = [];
      for (const event of events) {
        if (event.id) this.resumeId = event.id;
        const change = changeOf(event.id, event.data);
        if (change) changes.push(change);
      }
      return changes;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.controller.abort();
    this.reader.cancel().catch(() => undefined);
  }
}

/** `SignoffClient.watchApprovals`: the stream, reopened after transient failures with `Last-Event-ID`. */
export async function* watchApprovals(client: SignoffClient, options: WatchOptions): AsyncGenerator<ApprovalChange> {
  let lastEventId = options.lastEventId;
  let failures = 0;
  const idleMs = options.idleMs ?? 45_000;
  for (;;) {
    let stream: ApprovalStream;
    try {
      stream = await ApprovalStream.open(client, { topic: options.topic, lastEventId, signal: options.signal });
    } catch (error) {
      if (!isTransient(error)) throw error;
      await sleep(reconnectDelay(++failures), options.signal);
      continue;
    }
    try {
      for (;;) {
        const changes = await stream.read(idleMs);
        if (changes === null) break;
        failures = 0;
        for (const change of changes) {
          lastEventId = change.id || lastEventId;
          yield change;
        }
      }
    } catch (error) {
      if (!isTransient(error)) throw error;
    } finally {
      stream.close();
    }
    await sleep(reconnectDelay(++failures), options.signal);
  }
}
