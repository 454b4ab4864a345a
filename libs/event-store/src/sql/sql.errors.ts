import {
  EventStoreArgumentError,
  EventStoreError,
  EventStoreUnavailableError,
} from '../event-store.errors';

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a driver error (node-postgres and PGlite both expose it as `code`), if any. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

/** A unique-key violation: a concurrent writer got there first. */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === '23505';
}

/**
 * Turns a driver error into an EventStoreError, so callers (and the HTTP layer) never see a raw
 * database error: transient conditions become EventStoreUnavailableError (503), bad values
 * EventStoreArgumentError, anything else a generic `store_failure`.
 */
export function translateSqlError(error: unknown, doing: string): EventStoreError {
  if (error instanceof EventStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const state = sqlState(error);
  if (state !== undefined) {
    const cls = state.slice(0, 2);
    // 08 connection, 53 resources, 57 operator intervention (incl. 57014 statement timeout),
    // 40 serialization/deadlock, 55P03 lock not available, 25P03 idle-in-transaction timeout.
    if (['08', '53', '57', '40'].includes(cls) || state === '55P03' || state === '25P03') {
      return new EventStoreUnavailableError(`${doing}: ${message} (SQLSTATE ${state})`, { cause: error });
    }
    if (cls === '22') return new EventStoreArgumentError(`${doing}: ${message} (SQLSTATE ${state})`, { cause: error });
    return new EventStoreError('store_failure', `${doing}: ${message} (SQLSTATE ${state})`, { cause: error });
  }
  const code = (error as { code?: unknown } | null)?.code;
  // Node socket errors (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...) and node-postgres pool/connection messages.
  if ((typeof code === 'string' && code.startsWith('E')) || /connect|connection|terminat|timeout|closed|ended/i.test(message)) {
    return new EventStoreUnavailableError(`${doing}: ${message}`, { cause: error });
  }
  return new EventStoreError('store_failure', `${doing}: ${message}`, { cause: error });
}
