import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the `postgres` database of the test cluster. */
    databaseUrl: string;
    /** Comma-separated bootstrap brokers of the test Kafka broker. */
    kafkaBrokers: string;
    /** Version of the Kafka broker the tests run against. */
    kafkaVersion: string;
  }
}

/** The test PostgreSQL server (started by test/support/global-setup.ts). */
export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** The test Kafka broker's bootstrap addresses. */
export function testKafkaBrokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/**
 * A fresh, empty database on the test server, so test files never see each other's rows.
 * Returns its URL and a function that drops it.
 */
export async function createTestDatabase(prefix = 't'): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(testDatabaseUrl());
  const name = `${prefix}_${randomBytes(6).toString('hex')}`.toLowerCase();
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: base.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A topic name no other test uses. */
export function uniqueTopic(base: string): string {
  return `${base}.${randomBytes(4).toString('hex')}`;
}
