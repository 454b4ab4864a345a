import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { SigningKeySet } from '@signoff/keys';
import { DEFAULT_DISPATCH_MAX_ATTEMPTS, type DispatchFaultConfig, type SignoffConfig } from '@signoff/runtime';

/** Where the test-only fault hook kills the dispatcher (see {@link DispatchFault}). */
export type FaultPoint = DispatchFaultConfig['point'];

/**
 * TEST ONLY: kill this process with SIGKILL at a point of the dispatch path, to prove that a
 * dispatcher dying between its steps loses nothing and runs no side effect twice (the e2e tests
 * set `SIGNOFF_FAULT`, parsed with the rest of the configuration). Never set in a deployment.
 */
export type DispatchFault = DispatchFaultConfig;

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
  /** Stuck jobs replayed at the same time (their reads and appends coalesce into multi-stream calls). Default 500. */
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

export const DEFAULT_MAX_ATTEMPTS = DEFAULT_DISPATCH_MAX_ATTEMPTS;

export function resolveDispatchOptions(options: DispatchOptions = {}): ResolvedDispatchOptions {
  return {
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    scanIntervalMs: options.scanIntervalMs ?? null,
    replayConcurrency: options.replayConcurrency ?? 500,
    instanceId: options.instanceId ?? `dispatch:${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    fault: options.fault ?? null,
    replay: options.replay ?? true,
    signing: options.signing ?? null,
  };
}

/**
 * The dispatch settings of the validated configuration (`DISPATCH_MAX_ATTEMPTS`, the test-only
 * `SIGNOFF_FAULT` / `SIGNOFF_FAULT_JOB`), as every composition root hosting the dispatcher passes them.
 */
export function dispatchOptionsFromConfig(config: SignoffConfig): Pick<DispatchOptions, 'maxAttempts' | 'fault'> {
  return { maxAttempts: config.dispatchMaxAttempts, fault: config.dispatchFault };
}
