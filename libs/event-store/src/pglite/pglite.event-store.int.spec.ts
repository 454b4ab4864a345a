import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../event-store.factory';
import { describeEventStoreConformance } from '../testing/event-store.conformance';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-pglite-'));
  dirs.push(dir);
  return dir;
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
});
