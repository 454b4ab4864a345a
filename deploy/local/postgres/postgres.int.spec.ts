import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/infra';

describe('the test PostgreSQL server', () => {
  let db: { url: string; drop: () => Promise<void> };
  beforeAll(async () => {
    db = await createTestDatabase('pgharness');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is a real PostgreSQL server that accepts a migration and reads rows back', async () => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const version = await client.query<{ server_version_num: string }>('show server_version_num');
      expect(Number(version.rows[0].server_version_num)).toBeGreaterThanOrEqual(130000);
      await client.query('create table harness_probe (id bigserial primary key, tx xid8 not null default pg_current_xact_id(), body jsonb not null)');
      await client.query('insert into harness_probe (body) values ($1), ($2)', [{ a: 1 }, { b: 'two' }]);
      const { rows } = await client.query<{ body: unknown }>('select body from harness_probe order by id');
      expect(rows.map((r) => r.body)).toEqual([{ a: 1 }, { b: 'two' }]);
    } finally {
      await client.end();
    }
  });
});
