/**
 * An in-memory stand-in for the parts of @kurrent/kurrentdb-client's KurrentDBClient the adapter
 * uses, following the server's documented behaviour (streamState checks, idempotent repeats by
 * event id, inclusive $all positions, stream-not-found on reads). It lets the conformance suite
 * run the adapter's own logic here; it proves nothing about a real server (KURRENTDB_URL does).
 */
import type {
  AppendResult,
  AppendStreamState,
  EventData,
  KurrentDBClient,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
} from '@kurrent/kurrentdb-client';

interface StoredEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created: Date;
  readonly position: Position;
}

function clientError(type: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { type, ...extra });
}

function resolved(event: StoredEvent) {
  return {
    event: { ...event, isJson: true, data: structuredClone(event.data), metadata: structuredClone(event.metadata) },
    commitPosition: event.position.commit,
  };
}

/** Let other callers run between a request and its answer, as over a network. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Creates a fresh in-memory "server" and a client for it. */
export function createFakeKurrentDbClient(): KurrentDBClient {
  const streams = new Map<string, StoredEvent[]>();
  const log: StoredEvent[] = [];
  let nextPosition = 1_000n;

  async function appendToStream(stream: string, input: EventData | EventData[], options: { streamState?: AppendStreamState } = {}): Promise<AppendResult> {
    await tick();
    const events = Array.isArray(input) ? input : [input];
    const state = options.streamState ?? 'any';
    const existing = streams.get(stream) ?? [];
    const current = existing.length === 0 ? ('no_stream' as const) : BigInt(existing.length - 1);
    // Idempotency: the batch's ids already stored consecutively where the state puts them.
    const first = existing.findIndex((e) => e.id === events[0]?.id);
    if (events.length > 0 && first >= 0) {
      const run = events.every((e, i) => existing[first + i]?.id === e.id);
      const start = state === 'no_stream' ? 0 : typeof state === 'bigint' ? Number(state) + 1 : first;
      if (run && start === first) {
        const last = existing[first + events.length - 1]!;
        return { success: true, nextExpectedRevision: last.revision, position: last.position };
      }
    }
    const holds =
      state === 'any' ||
      (state === 'no_stream' && current === 'no_stream') ||
      (state === 'stream_exists' && current !== 'no_stream') ||
      (typeof state === 'bigint' && current === state);
    if (!holds) {
      throw clientError('wrong-expected-version', `WrongExpectedVersion on ${stream}`, { streamName: stream, expectedState: state, actualState: current });
    }
    const stored = events.map((e, i) => {
      nextPosition += 100n;
      return {
        streamId: stream,
        id: e.id,
        revision: BigInt(existing.length + i),
        type: e.type,
        data: structuredClone(e.data),
        metadata: structuredClone(e.metadata ?? {}),
        created: new Date(),
        position: { commit: nextPosition, prepare: nextPosition },
      };
    });
    streams.set(stream, [...existing, ...stored]);
    log.push(...stored);
    const last = stored[stored.length - 1];
    return {
      success: true,
      nextExpectedRevision: last ? last.revision : current === 'no_stream' ? -1n : current,
      position: last?.position,
    };
  }

  async function* readStream(stream: string, options: ReadStreamOptions = {}) {
    await tick();
    const events = streams.get(stream);
    if (!events || events.length === 0) throw clientError('stream-not-found', `${stream} not found`);
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const ordered = backwards ? [...events].reverse() : events;
    let yielded = 0;
    for (const event of ordered) {
      if (from !== 'start' && from !== 'end' && (backwards ? event.revision > from : event.revision < from)) continue;
      if (yielded >= max) return;
      yielded += 1;
      yield resolved(event);
    }
  }

  async function* readAll(options: ReadAllOptions = {}) {
    await tick();
    const from = options.fromPosition ?? 'start';
    const max = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const excludeSystem = options.filter !== undefined && 'regex' in options.filter;
    let yielded = 0;
    for (const event of [...log]) {
      if (from === 'end') return;
      if (from !== 'start' && (event.position.commit < from.commit || (event.position.commit === from.commit && event.position.prepare < from.prepare))) continue;
      if (excludeSystem && event.type.startsWith('$')) continue;
      if (yielded >= max) return;
      yielded += 1;
      yield resolved(event);
    }
  }

  const client = {
    appendToStream,
    readStream,
    readAll,
    setStreamMetadata: async () => ({ success: true, nextExpectedRevision: 0n }),
    dispose: async () => undefined,
  };
  return client as unknown as KurrentDBClient;
}
