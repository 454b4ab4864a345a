/*
 * What a bench measures of the service in its own process besides the rate: a V8 CPU profile
 * (BENCH_CPU_PROFILE), the process's CPU time, the SQL statements it sends, and the raw one-row
 * INSERT rate of the same PostgreSQL server (the baseline of issue 15's ">= 0.5 of INSERT").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Client, Pool } from 'pg';

/**
 * A V8 CPU profile of this process from now until `stop`, written as a .cpuprofile for DevTools
 * or test/bench/support/cpu-profile-summary.ts (sampling every 500 µs).
 */
export async function startCpuProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      process.stderr.write(`[bench] CPU profile written to ${file}\n`);
    },
  };
}

/** Raw PostgreSQL baseline: one-row INSERTs (autocommit) from `connections` concurrent clients for `ms`. */
export async function rawInsertRate(url: string, ms: number, connections: number): Promise<number> {
  const pool = new Pool({ connectionString: url, max: connections });
  try {
    await pool.query('CREATE TABLE IF NOT EXISTS bench_raw_insert (id bigserial PRIMARY KEY, stream text NOT NULL, data jsonb NOT NULL)');
    const deadline = performance.now() + ms;
    let done = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: connections }, async (_, w) => {
        while (performance.now() < deadline) {
          await pool.query('INSERT INTO bench_raw_insert (stream, data) VALUES ($1, $2)', [`job-${w}-${done}`, JSON.stringify({ approval_id: randomUUID(), approved_by: ['bench'] })]);
          done += 1;
        }
      }),
    );
    return done / ((performance.now() - started) / 1000);
  } finally {
    await pool.end();
  }
}

/**
 * Counts the statements every `pg` client of this process sends while `counting` is on, by the
 * statement's first words (so reads, appends, checkpoints and leases can be told apart).
 */
export function countQueries(keyOf: (flatText: string) => string = statementPrefix): {
  start(): void;
  stop(): Map<string, number>;
  snapshot(): Map<string, number>;
  exclude(client: Client): void;
} {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const counts = new Map<string, number>();
  let counting = false;
  const excluded = new WeakSet<object>();
  proto.query = function (this: object, ...args: unknown[]) {
    if (counting && !excluded.has(this)) {
      const q = args[0];
      const text = typeof q === 'string' ? q : ((q as { text?: string } | null)?.text ?? '(other)');
      const key = keyOf(text.replace(/\s+/g, ' ').trim());
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
  return {
    exclude: (client) => excluded.add(client),
    start: () => {
      counts.clear();
      counting = true;
    },
    snapshot: () => new Map(counts),
    stop: () => {
      counting = false;
      proto.query = original;
      return new Map(counts);
    },
  };
}

/** The default key of {@link countQueries}: the statement's first 110 characters, event columns abbreviated. */
function statementPrefix(flat: string): string {
  return flat.replace(/^SELECT e\.position, .*? FROM event_store\./, 'SELECT <event columns> FROM event_store.').slice(0, 110);
}

/** A coarser key: the kind of store round trip (log read, checkpoint, stream read, append, audit tree). */
export function statementKind(flat: string): string {
  if (flat.startsWith('WITH snapshot AS MATERIALIZED')) return 'log read (subscriptions)';
  if (flat.includes('event_store.subscriptions')) return 'checkpoint';
  if (flat.startsWith('SELECT') && flat.includes('FROM event_store.events')) return 'stream read';
  if (flat.includes('INSERT INTO event_store.events') || flat.includes('event_store.streams')) return 'append';
  if (flat.includes('audit_log.')) return 'audit tree';
  return flat.slice(0, 40);
}

/** CPU time (user + system, µs) of this process since `since`. */
export const cpuUsSince = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};

/** A database of its own on the server of `baseUrl`, for one bench run. */
export async function freshDatabase(baseUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const c = new Client({ connectionString: baseUrl });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Resolves once the checkpoints of every durable subscription on `url` (the relays) have not
 * moved for `quietMs`: the relays have relayed what the run appended. Returns how long it took.
 * The client it polls with is excluded from `queries`.
 */
export async function relaysSettled(url: string, queries: { exclude(client: Client): void }, quietMs = 2000): Promise<number> {
  const started = performance.now();
  const c = new Client({ connectionString: url });
  queries.exclude(c);
  await c.connect();
  try {
    let last = '';
    let since = performance.now();
    for (;;) {
      const { rows } = await c.query<{ s: string | null }>(`SELECT string_agg(name || ':' || position, ',' ORDER BY name) AS s FROM event_store.subscriptions`);
      const now = performance.now();
      if ((rows[0]?.s ?? '') !== last) {
        last = rows[0]?.s ?? '';
        since = now;
      } else if (now - since >= quietMs) return now - started - quietMs;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await c.end();
  }
}
