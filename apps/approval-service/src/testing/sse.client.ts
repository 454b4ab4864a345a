import { request } from 'node:http';

/** One Server-Sent Event as received. */
export interface ReceivedSseEvent {
  readonly id: string;
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** A real HTTP client of `GET /api/v1/approvals/stream` (node:http), parsing the event stream. */
export interface SseClient {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Parsed events, in order of arrival. */
  readonly events: ReceivedSseEvent[];
  /** Comment lines (`: heartbeat`), in order of arrival. */
  readonly comments: string[];
  /** The body when the answer is not a stream (a problem document). */
  body(): Promise<string>;
  /** Resolves when the server ended or cut the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** Opens the stream; resolves once the response headers arrived (the stream is live then). */
export function openSse(
  base: string,
  authorization: string | null,
  options: { topic?: string; lastEventId?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<SseClient> {
  const url = new URL(`${base}${options.path ?? '/api/v1/approvals/stream'}${options.topic ? `?topic=${encodeURIComponent(options.topic)}` : ''}`);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (authorization) headers.authorization = authorization;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const events: ReceivedSseEvent[] = [];
      const comments: string[] = [];
      let text = '';
      let buffer = '';
      let endedResolve: () => void = () => undefined;
      const ended = new Promise<void>((r) => (endedResolve = r));
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        buffer += chunk;
        let split: number;
        while ((split = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              if (colon > 0) fields[line.slice(0, colon)] = (fields[line.slice(0, colon)] ?? '') + line.slice(colon + 1).replace(/^ /, '');
            }
          }
          if (fields.data !== undefined) events.push({ id: fields.id ?? '', event: fields.event ?? 'message', data: JSON.parse(fields.data) as Record<string, unknown> });
        }
      });
      res.on('end', endedResolve);
      res.on('close', endedResolve);
      res.on('error', endedResolve);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        comments,
        body: async () => {
          await ended;
          return text;
        },
        ended,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
