import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactUrl } from './config';

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const c = parseConfig({}, { eventStoreUrl: 'pglite://./.signoff/data' });
    expect(c).toMatchObject({
      port: 8080,
      grpcPort: 50051,
      eventStoreUrl: 'pglite://./.signoff/data',
      kafkaBrokers: [],
      kafkaTopicPrefix: 'signoff.',
      kafkaStartupTimeoutMs: 60_000,
      policyPath: 'policies/default.yaml',
      snapshotMode: 'strict',
      dispatchGraceMs: 2000,
      authJwtSecret: null,
    });
  });

  it('reads every variable', () => {
    const c = parseConfig({
      PORT: '9000',
      GRPC_PORT: '9001',
      EVENT_STORE_URL: 'postgres://u:p@db:5432/signoff',
      KAFKA_BROKERS: 'a:9092, b:9093',
      KAFKA_TOPIC_PREFIX: 'acme.',
      POLICY_PATH: 'policies/x.yaml',
      AUTH_JWT_SECRET: 'x'.repeat(32),
      SNAPSHOT_MODE: 'decision',
      DISPATCH_GRACE_MS: '500',
      WORKER_ACK_TIMEOUT_MS: '1000',
      KAFKA_STARTUP_TIMEOUT_MS: '5000',
    });
    expect(c.kafkaStartupTimeoutMs).toBe(5000);
    expect(c.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(c.snapshotMode).toBe('decision');
    expect(c.port).toBe(9000);
    expect(c.dispatchGraceMs).toBe(500);
  });

  it('lists every bad value at once', () => {
    try {
      parseConfig({ PORT: 'eighty', EVENT_STORE_URL: 'mysql://x', SNAPSHOT_MODE: 'loose', KAFKA_BROKERS: 'nohost', AUTH_JWT_SECRET: 'short' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/PORT=eighty/);
      expect(problems).toMatch(/EVENT_STORE_URL/);
      expect(problems).toMatch(/SNAPSHOT_MODE=loose/);
      expect(problems).toMatch(/KAFKA_BROKERS entry "nohost"/);
      expect(problems).toMatch(/AUTH_JWT_SECRET/);
      expect((error as ConfigError).problems).toHaveLength(5);
    }
  });

  it('refuses a Kafka start-up timeout below one second', () => {
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b', KAFKA_STARTUP_TIMEOUT_MS: '10' })).toThrow(/KAFKA_STARTUP_TIMEOUT_MS=10 must be an integer from 1000/);
  });

  it('requires Kafka for a distributed service and never prints a password', () => {
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b' }, { kafkaRequired: true })).toThrow(/KAFKA_BROKERS is required/);
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b', KAFKA_BROKERS: 'k:9092' }, { authRequired: true })).toThrow(/AUTH_JWT_SECRET .* or AUTH_JWKS_URL is required/);
    expect(redactUrl('postgres://user:secret@host/db')).toBe('postgres://user:***@host/db');
  });
});
