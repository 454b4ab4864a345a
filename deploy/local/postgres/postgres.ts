import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, isAlive, waitForPort } from '../ports';

/** A PostgreSQL server the tests or a developer can use. */
export interface PostgresHandle {
  /** Connection URL of the `postgres` database. */
  readonly url: string;
  /** Where the throwaway cluster lives (null when DATABASE_URL was used). */
  readonly dataDir: string | null;
  readonly pid: number | null;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Keep the cluster in this folder instead of a temporary one. */
  readonly dataDir?: string;
  readonly log?: (line: string) => void;
  /** Told the server's pid (its process group) as soon as it is spawned. */
  readonly onSpawn?: (pid: number) => void;
  /** Listen on this port (a restart on the same data directory keeps its URL); default a free one. */
  readonly port?: number;
  /**
   * Run with PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on), as
   * production does: the benchmarks use it. Off by default: test clusters trade durability for speed.
   */
  readonly durable?: boolean;
}

/** Finds initdb/pg_ctl/postgres: PATH first, then /usr/lib/postgresql/<newest>/bin. */
export function findPostgresBin(): string | null {
  const candidates: string[] = [];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) {
      candidates.push(dir);
    }
  }
  const lib = '/usr/lib/postgresql';
  if (fs.existsSync(lib)) {
    const versions = fs
      .readdirSync(lib)
      .filter((v) => fs.existsSync(path.join(lib, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(lib, v, 'bin'));
  }
  for (const dir of candidates) {
    // PATH entries are often symlinks; use the real folder so pg_ctl finds `postgres` beside it.
    const real = path.dirname(fs.realpathSync(path.join(dir, 'initdb')));
    if (fs.existsSync(path.join(real, 'postgres'))) return real;
  }
  return null;
}

/**
 * Uses `DATABASE_URL` when set; otherwise creates a throwaway cluster with initdb on a free
 * 127.0.0.1 port (trust auth; fsync off unless `durable`: a test cluster is for tests and
 * development only) and starts it.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresHandle> {
  const log = options.log ?? (() => undefined);
  if (process.env.DATABASE_URL) {
    log(`postgres: using DATABASE_URL`);
    return { url: process.env.DATABASE_URL, dataDir: null, pid: null, stop: async () => undefined };
  }
  const bin = findPostgresBin();
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or in /usr/lib/postgresql/*/bin. ' +
        'Install them (Debian: apt-get install postgresql) or set DATABASE_URL=postgres://user:pass@host:port/db.',
    );
  }
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-pg-'));
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // PostgreSQL refuses to run as root: run it as the `postgres` system user when we are root.
  const runAs = asRoot ? 'postgres' : null;
  if (runAs) {
    execFileSync('chown', ['-R', `${runAs}:${runAs}`, dataDir]);
    try {
      execFileSync('runuser', ['-u', runAs, '--', 'test', '-w', dataDir], { stdio: 'ignore' });
    } catch {
      throw new Error(`PostgreSQL runs as the '${runAs}' user, which cannot reach ${dataDir}: a parent folder is not searchable by others (chmod o+x it) or set DATABASE_URL.`);
    }
  }
  const run = (cmd: string, args: string[]) =>
    runAs
      ? execFileSync('runuser', ['-u', runAs, '--', path.join(bin, cmd), ...args], { stdio: 'pipe' })
      : execFileSync(path.join(bin, cmd), args, { stdio: 'pipe' });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync']);
  }
  const port = options.port ?? (await freePort());
  const logFile = path.join(dataDir, 'server.log');
  const postgresArgs = [
    '-D', dataDir,
    '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1',
    '-c', `unix_socket_directories=${dataDir}`,
    ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    '-c', 'max_connections=300',
    '-c', 'shared_buffers=256MB',
  ];
  const out = fs.openSync(logFile, 'a');
  const child = runAs
    ? spawn('runuser', ['-u', runAs, '--', path.join(bin, 'postgres'), ...postgresArgs], { stdio: ['ignore', out, out], detached: true })
    : spawn(path.join(bin, 'postgres'), postgresArgs, { stdio: ['ignore', out, out], detached: true });
  fs.closeSync(out);
  child.unref();
  const pid = child.pid!;
  options.onSpawn?.(pid);
  try {
    await waitForPort(port, 30_000);
  } catch (error) {
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${tail}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  log(`postgres: ${bin} on 127.0.0.1:${port} (data ${dataDir}; ${options.durable ? 'durable: fsync, synchronous_commit and full_page_writes on' : 'fsync off'})`);
  return {
    url,
    dataDir,
    pid,
    stop: async () => {
      await stopPostgresProcess(pid);
      if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Fast shutdown (SIGINT), then SIGKILL after 10 s; resolves when the process is gone. */
export async function stopPostgresProcess(pid: number): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup('SIGINT');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) signalGroup('SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}
