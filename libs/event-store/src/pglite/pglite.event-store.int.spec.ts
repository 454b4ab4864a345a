import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SUBSCRIPTION_LEASE_MS } from '../catch-up.event-store';
import { createEventStore } from '../event-store.factory';
import type { EventStore } from '../event-store.port';
import { describeEventStoreConformance } from '../testing/event-store.conformance';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-pglite-'));
  dirs.push(dir);
  return dir;
}
async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

// File-backed, so the suite's close-and-reopen test also proves the data survives a restart.
describeEventStoreConformance(
  'PGlite event store (pglite://<dir>)',
  async () => {
    const dir = tempDir();
    return {
      open: () => createEventStore(`pglite://${dir}`),
      destroy: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  },
  { uniqueEventIds: true },
);

describe('PGlite event store specifics', () => {
  it('pglite://memory keeps nothing after close', async () => {
    const first = await createEventStore('pglite://memory');
    await first.appendToStream('s', [{ id: '6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a01', type: 'A', data: {} }], { expectedRevision: 'no_stream' });
    expect(await first.readStream('s')).toHaveLength(1);
    await first.close();
    const second = await createEventStore('pglite://memory');
    expect(await second.readStream('s')).toEqual([]);
    await second.close();
  });

  it('creates the data directory and keeps a schema version that reopening does not re-apply', async () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const first = await createEventStore(`pglite://${dir}`);
    await first.appendToStream('s', [{ id: '6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a02', type: 'A', data: { kept: true } }], {
      expectedRevision: 'no_stream',
    });
    await first.close();
    expect(fs.existsSync(path.join(dir, 'PG_VERSION'))).toBe(true);
    const second = await createEventStore(`pglite://${dir}`);
    expect((await second.readStream('s')).map((e) => e.data)).toEqual([{ kept: true }]);
    await second.close();
  });

  it('a lease still held by a process that died is free once the directory is reopened: no wait for its ttl', async () => {
    const dir = tempDir();
    const first = await createEventStore(`pglite://${dir}`);
    const seen: string[] = [];
    const run = (store: EventStore) => store.subscribe('relay', { pollIntervalMs: 10, handler: (e) => void seen.push(e.id) });
    const handle = run(first);
    await first.appendToStream('s', [{ id: '6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a03', type: 'A', data: {} }], { expectedRevision: 'no_stream' });
    await eventually(() => seen.length === 1);
    await handle.stop();
    await first.close();
    // What a crash leaves: the record still names its owner (a clean stop released it).
    const { PGlite } = await import('@electric-sql/pglite');
    const raw = await PGlite.create(dir);
    await raw.query(`UPDATE event_store.subscriptions SET owner = 'dead-host/1/0', lease_version = lease_version + 1 WHERE name = 'relay'`);
    await raw.close();

    const second = await createEventStore(`pglite://${dir}`);
    const opened = Date.now();
    run(second);
    await second.appendToStream('s', [{ id: '6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a04', type: 'A', data: {} }], { expectedRevision: 0n });
    await eventually(() => seen.length === 2);
    expect(Date.now() - opened).toBeLessThan(DEFAULT_SUBSCRIPTION_LEASE_MS / 2);
    expect(seen).toEqual(['6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a03', '6f1c1f2e-8d1c-4a59-9d43-2b8a1c3f0a04']);
    await second.close();
  });
});
