import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../deploy/local/ports';

export const ROOT = path.resolve(__dirname, '..', '..');

/** A Signoff process started the way `npm run start:*` starts it. */
export interface ServiceProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `apps/<app>/src/main.ts` as its own Node process with the given environment (PORT is
 * chosen free) and resolves once `GET /health/ready` answers 200 (`until: 'live'`: once
 * `/health/live` answers; services listen before they reach Kafka, and readiness says what they
 * still wait for).
 */
export async function startApp(app: string, env: Record<string, string>, timeoutMs = 60_000, until: 'live' | 'ready' = 'ready'): Promise<ServiceProcess> {
  return startScript(path.join(ROOT, 'apps', app, 'src', 'main.ts'), env, timeoutMs, until, app);
}

/** Starts any TypeScript file of the repository (a test fixture server) the way {@link startApp} starts an app. */
export async function startScript(file: string, env: Record<string, string>, timeoutMs = 60_000, until: 'live' | 'ready' = 'ready', app = path.basename(file)): Promise<ServiceProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, ['--enable-source-maps', '-r', path.join(ROOT, 'tools/register.cjs'), path.resolve(ROOT, file)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  const probe = until === 'live' ? '/health/live' : '/health/ready';
  let last = '';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}${probe}`);
      if (res.ok) break;
      last = await res.text();
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${app} did not answer ${probe} with 200 within ${timeoutMs} ms (last: ${last}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
