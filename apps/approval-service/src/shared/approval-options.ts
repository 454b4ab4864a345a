/** Tunables of the approval module (defaults suit production; tests shorten them). */
export interface ApprovalModuleOptions {
  /** How often open approvals are checked for expiry (ms); default 500. */
  readonly expirySweepIntervalMs?: number;
}

/** DI token of {@link ApprovalModuleOptions}. */
export const APPROVAL_MODULE_OPTIONS = Symbol('APPROVAL_MODULE_OPTIONS');

export const DEFAULT_EXPIRY_SWEEP_INTERVAL_MS = 500;
