import { describe, expect, it } from 'vitest';
import { EventStoreArgumentError } from './event-store.errors';
import { parseEventStoreUrl } from './event-store.url';

describe('parseEventStoreUrl', () => {
  it('selects PostgreSQL', () => {
    expect(parseEventStoreUrl('postgres://u:p@db:5432/signoff')).toEqual({ kind: 'postgres', url: 'postgres://u:p@db:5432/signoff' });
    expect(parseEventStoreUrl('postgresql://db/signoff?sslmode=require')).toMatchObject({ kind: 'postgres' });
  });

  it('selects PGlite in memory or in a directory', () => {
    expect(parseEventStoreUrl('pglite://memory')).toEqual({ kind: 'pglite', location: { kind: 'memory' } });
    expect(parseEventStoreUrl('pglite://./.signoff/data')).toEqual({ kind: 'pglite', location: { kind: 'directory', path: './.signoff/data' } });
    expect(parseEventStoreUrl('pglite:///var/lib/signoff')).toEqual({ kind: 'pglite', location: { kind: 'directory', path: '/var/lib/signoff' } });
    expect(parseEventStoreUrl(' pglite://data ')).toEqual({ kind: 'pglite', location: { kind: 'directory', path: 'data' } });
    expect(() => parseEventStoreUrl('pglite://')).toThrow(/needs a directory/);
  });

  it('selects KurrentDB for kurrentdb and esdb schemes', () => {
    for (const url of ['kurrentdb://localhost:2113?tls=false', 'kurrentdb+discover://cluster:2113', 'esdb://localhost:2113', 'esdb+discover://c:2113']) {
      expect(parseEventStoreUrl(url)).toEqual({ kind: 'kurrentdb', url });
    }
  });

  it('refuses anything else with the supported forms, without echoing the URL', () => {
    for (const url of ['mysql://root:secret@db/x', 'http://x', '/tmp/data', '']) {
      expect(() => parseEventStoreUrl(url)).toThrow(EventStoreArgumentError);
      try {
        parseEventStoreUrl(url);
      } catch (error) {
        expect((error as Error).message).toMatch(/postgres:\/\/, postgresql:\/\/, pglite:\/\/<dir>/);
        expect((error as Error).message).not.toMatch(/secret/);
      }
    }
  });
});
