/** Tunables of the approval module (defaults suit production; tests shorten them). */
export interface ApprovalModuleOptions {
  /** How often open approvals are checked for expiry (ms); default 500. */
  readonly expirySweepIntervalMs?: number;
  /** How many approval changes are kept for clients resuming a stream (`Last-Event-ID`); default 10,000. */
  readonly changeHistoryLimit?: number;
  /** Approximate bytes (requests as JSON) those changes may take, the oldest go first; default 64 MiB. */
  readonly changeHistoryMaxBytes?: number;
  /** Heartbeat comment interval of `GET /approvals/stream` (ms); default 15,000. */
  readonly sseHeartbeatMs?: number;
  /** Bytes a stream client may leave unread (for longer than the grace) before it is disconnected; default 1 MiB. */
  readonly sseMaxBufferedBytes?: number;
  /** How long a stream client may stay past `sseMaxBufferedBytes` before it is disconnected (ms); default 2,000. */
  readonly sseSlowClientGraceMs?: number;
  /**
   * The reviewer console's key material when the composition root has a secret the configuration
   * does not show (the standalone's generated auth secret); else CONSOLE_SESSION_SECRET or AUTH_JWT_SECRET.
   */
  readonly consoleSecret?: string;
}

/** DI token of {@link ApprovalModuleOptions}. */
export const APPROVAL_MODULE_OPTIONS = Symbol('APPROVAL_MODULE_OPTIONS');

export const DEFAULT_EXPIRY_SWEEP_INTERVAL_MS = 500;

export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export const DEFAULT_SSE_MAX_BUFFERED_BYTES = 1024 * 1024;

export const DEFAULT_SSE_SLOW_CLIENT_GRACE_MS = 2_000;
