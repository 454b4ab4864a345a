import { EventStoreArgumentError } from './event-store.errors';
import type { PgliteLocation } from './pglite/pglite.event-store';

/** Which adapter an `EVENT_STORE_URL` selects, and what it needs. */
export type EventStoreTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly location: PgliteLocation }
  | { readonly kind: 'kurrentdb'; readonly url: string };

const SUPPORTED =
  'postgres://, postgresql://, pglite://<dir>, pglite://memory, kurrentdb://, kurrentdb+discover://, esdb:// or esdb+discover://';

/**
 * Reads an `EVENT_STORE_URL` (DESIGN section 10):
 * - `postgres://…` / `postgresql://…`: a PostgreSQL server;
 * - `pglite://memory`: PGlite in memory (gone when the process ends);
 * - `pglite://<dir>`: PGlite files in `<dir>`, relative to the working directory unless absolute
 *   (`pglite://./.signoff/data`, `pglite:///var/lib/signoff`);
 * - `kurrentdb://…`, `kurrentdb+discover://…`, `esdb://…`, `esdb+discover://…`: KurrentDB / EventStoreDB.
 * Anything else is refused with the list of supported forms (the URL itself is not echoed: it
 * may hold a password).
 */
export function parseEventStoreUrl(url: string): EventStoreTarget {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new EventStoreArgumentError(`EVENT_STORE_URL is empty; use ${SUPPORTED}`);
  }
  const value = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return { kind: 'postgres', url: value };
    case 'pglite': {
      const rest = value.slice('pglite://'.length);
      if (rest === '') throw new EventStoreArgumentError('pglite:// needs a directory (pglite://./.signoff/data) or "memory"');
      return rest === 'memory' ? { kind: 'pglite', location: { kind: 'memory' } } : { kind: 'pglite', location: { kind: 'directory', path: rest } };
    }
    case 'kurrentdb':
    case 'kurrentdb+discover':
    case 'esdb':
    case 'esdb+discover':
      return { kind: 'kurrentdb', url: value };
    default:
      throw new EventStoreArgumentError(
        `Unsupported EVENT_STORE_URL ${scheme ? `scheme "${scheme}://"` : '(no scheme)'}; use ${SUPPORTED}`,
      );
  }
}
