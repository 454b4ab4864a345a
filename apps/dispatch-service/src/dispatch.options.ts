import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { SigningKeySet } from '@signoff/keys';

/** Where the test-only fault hook kills the dispatcher (see {@link DispatchFault}). */
export type FaultPoint = 'crash-after-claim' | 'crash-after-publish';

/**
 * TEST ONLY: kill this process with SIGKILL at a point of the dispatch path, to prove that a
 * dispatcher dying between its steps loses nothing and runs no side effect twice (the e2e tests
 * set `SIGNOFF_FAULT`). Never set in a deployment.
 */
export interface DispatchFault {
  readonly point: FaultPoint;
  /** Only the dispatch of this job id triggers it (default: the first dispatch of any job). */
  readonly jobId?: string;
}

/** How dispatches are signed (DESIGN section 12). */
export interface DispatchSigning {
  /** The control plane's Ed25519 keys: the current one signs, all are published as the JWKS. */
  readonly keys: SigningKeySet;
  /** How long a grant is valid after it was signed (DISPATCH_GRANT_TTL_MS, default 1 h). */
  readonly grantTtlMs: number;
}

/** Settings of the dispatch use cases (defaults below); the composition root passes them. */
export interface DispatchOptions {
  /** Required: the dispatcher signs every dispatch and refuses to start without keys. */
  readonly signing?: DispatchSigning;
  /** Attempts (first dispatch + replays) before a dispatch is abandoned. Default 5. */
  readonly maxAttempts?: number;
  /** How often the replay consumer looks for stuck jobs (ms). Default: a quarter of the grace, 50..1000 ms. */
  readonly scanIntervalMs?: number;
  /** Stuck jobs replayed at the same time. Default 32. */
  readonly replayConcurrency?: number;
  /** This instance's name in DispatchClaimed.claimed_by. Default `dispatch:<host>:<pid>:<random>`. */
  readonly instanceId?: string;
  /** Test-only fault hook. */
  readonly fault?: DispatchFault | null;
  /** Whether the replay consumer runs (default true; the CLI and some tests turn it off). */
  readonly replay?: boolean;
}

/** DI token of the resolved {@link DispatchOptions}. */
export const DISPATCH_OPTIONS = Symbol('DISPATCH_OPTIONS');

export type ResolvedDispatchOptions = Required<Omit<DispatchOptions, 'fault' | 'scanIntervalMs' | 'signing'>> & {
  readonly fault: DispatchFault | null;
  readonly scanIntervalMs: number | null;
  readonly signing: DispatchSigning | null;
};

export const DEFAULT_MAX_ATTEMPTS = 5;

export function resolveDispatchOptions(options: DispatchOptions = {}): ResolvedDispatchOptions {
  return {
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    scanIntervalMs: options.scanIntervalMs ?? null,
    replayConcurrency: options.replayConcurrency ?? 32,
    instanceId: options.instanceId ?? `dispatch:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    fault: options.fault ?? null,
    replay: options.replay ?? true,
    signing: options.signing ?? null,
  };
}

/**
 * Reads the dispatch-specific environment at the composition root: `DISPATCH_MAX_ATTEMPTS`
 * (1..100, default 5) and the test-only `SIGNOFF_FAULT` (`crash-after-claim` |
 * `crash-after-publish`, optionally scoped with `SIGNOFF_FAULT_JOB=<job id>`). Returns the
 * options, or the list of problems.
 */
export function dispatchOptionsFromEnv(env: Readonly<Record<string, string | undefined>>): { options: DispatchOptions; problems: string[] } {
  const problems: string[] = [];
  const options: { maxAttempts?: number; fault?: DispatchFault } = {};
  const attempts = env.DISPATCH_MAX_ATTEMPTS?.trim();
  if (attempts) {
    if (!/^\d+$/.test(attempts) || Number(attempts) < 1 || Number(attempts) > 100) {
      problems.push(`DISPATCH_MAX_ATTEMPTS=${attempts} must be an integer from 1 to 100`);
    } else options.maxAttempts = Number(attempts);
  }
  const fault = env.SIGNOFF_FAULT?.trim();
  if (fault) {
    if (fault !== 'crash-after-claim' && fault !== 'crash-after-publish') {
      problems.push(`SIGNOFF_FAULT=${fault} must be crash-after-claim or crash-after-publish (test only)`);
    } else {
      const jobId = env.SIGNOFF_FAULT_JOB?.trim();
      options.fault = jobId ? { point: fault, jobId } : { point: fault };
    }
  }
  return { options, problems };
}
