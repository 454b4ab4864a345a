/** One Server-Sent Event (WHATWG HTML, "event stream interpretation"). */
export interface SseEvent {
  /** The last `id:` seen so far on the stream (what `Last-Event-ID` resumes after). */
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

/** The stream broke the parser's bounds: a line or an event larger than `maxEventBytes`. */
export class SseOverflowError extends Error {
  override readonly name = 'SseOverflowError';
}

/**
 * An incremental `text/event-stream` parser: feed it decoded text in chunks of any size, get the
 * complete events. Lines end with LF, CRLF or CR (a CR at the end of a chunk waits for the next
 * one); comments (`:`) are dropped; `retry:` is ignored (the client has its own back-off). A line
 * or pending event longer than `maxEventBytes` characters throws {@link SseOverflowError}: a
 * hostile or broken server cannot make the client buffer without bound.
 */
export class SseParser {
  private buffer = '';
  private lastId = '';
  private event = '';
  private data: string[] = [];
  private dataLength = 0;

  constructor(private readonly maxEventBytes = 1024 * 1024) {}

  /** The id to resume after. */
  get lastEventId(): string {
    return this.lastId;
  }

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === this.buffer.length - 1) break; // a CR that may be the first half of a CRLF
      const line = this.buffer.slice(start, i);
      if (c === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
      const event = this.line(line);
      if (event) out.push(event);
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.dataLength > this.maxEventBytes) {
      throw new SseOverflowError(`an event of the stream is longer than ${this.maxEventBytes} characters`);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const event = { id: this.lastId, event: this.event || 'message', data: this.data.join('\n') };
      this.event = '';
      this.data = [];
      this.dataLength = 0;
      return event;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.dataLength += value.length + 1;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
        break;
    }
    if (this.dataLength > this.maxEventBytes) throw new SseOverflowError(`an event of the stream is longer than ${this.maxEventBytes} characters`);
    return null;
  }
}
