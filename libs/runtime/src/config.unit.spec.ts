import { describe, expect, it } from 'vitest';
import { ConfigError, defaultWorkerGroupId, parseConfig, parseWorkerConfig, redactUrl, topicPrefixProblem } from './config';
import { SERVICE_ENV_NAMES, TEST_ONLY_ENV_NAMES, TRACING_ENV_NAMES, WORKER_ENV_NAMES } from './config-env';
import { parseTracingEnv } from './tracing.config';

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

  it('WORKER_RUN_TIMEOUT_MS: how long a job may stay RUNNING before it is replayed (default 5 minutes)', () => {
    expect(parseConfig({ EVENT_STORE_URL: 'postgres://a/b' }).workerRunTimeoutMs).toBe(300_000);
    expect(parseConfig({ EVENT_STORE_URL: 'postgres://a/b', WORKER_RUN_TIMEOUT_MS: '4000' }).workerRunTimeoutMs).toBe(4000);
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b', WORKER_RUN_TIMEOUT_MS: '0' })).toThrow(/WORKER_RUN_TIMEOUT_MS=0 must be an integer from 1/);
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

  it('reads the console key material CONSOLE_SESSION_SECRET (at least 32 characters; unset = derived from the auth secret)', () => {
    expect(parseConfig({}, { eventStoreUrl: 'pglite://memory' }).consoleSessionSecret).toBeNull();
    expect(parseConfig({ CONSOLE_SESSION_SECRET: 'c'.repeat(32) }, { eventStoreUrl: 'pglite://memory' }).consoleSessionSecret).toBe('c'.repeat(32));
    expect(() => parseConfig({ CONSOLE_SESSION_SECRET: 'short' }, { eventStoreUrl: 'pglite://memory' })).toThrow(/CONSOLE_SESSION_SECRET must be at least 32 characters/);
  });

  it('refuses a Kafka start-up timeout below one second', () => {
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b', KAFKA_STARTUP_TIMEOUT_MS: '10' })).toThrow(/KAFKA_STARTUP_TIMEOUT_MS=10 must be an integer from 1000/);
  });

  it('requires Kafka for a distributed service and never prints a password', () => {
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b' }, { kafkaRequired: true })).toThrow(/KAFKA_BROKERS is required/);
    expect(() => parseConfig({ EVENT_STORE_URL: 'postgres://a/b', KAFKA_BROKERS: 'k:9092' }, { authRequired: true })).toThrow(/AUTH_JWT_SECRET .* or AUTH_JWKS_URL is required/);
    expect(redactUrl('postgres://user:secret@host/db')).toBe('postgres://user:***@host/db');
  });

  it('bounds one synchronous stretch of a policy evaluation (POLICY_EVALUATION_BUDGET_MS, within the timeout)', () => {
    const store = { EVENT_STORE_URL: 'postgres://a/b' };
    expect(parseConfig(store)).toMatchObject({ policyEvaluationTimeoutMs: 5000, policyEvaluationBudgetMs: 100 });
    expect(parseConfig({ ...store, POLICY_EVALUATION_BUDGET_MS: '20' }).policyEvaluationBudgetMs).toBe(20);
    expect(parseConfig({ ...store, POLICY_EVALUATION_TIMEOUT_MS: '50' }).policyEvaluationBudgetMs).toBe(50);
    expect(() => parseConfig({ ...store, POLICY_EVALUATION_TIMEOUT_MS: '50', POLICY_EVALUATION_BUDGET_MS: '80' })).toThrow(/POLICY_EVALUATION_BUDGET_MS=80 must not exceed POLICY_EVALUATION_TIMEOUT_MS=50/);
    expect(() => parseConfig({ ...store, POLICY_EVALUATION_BUDGET_MS: '0' })).toThrow(/POLICY_EVALUATION_BUDGET_MS=0 must be an integer from 1 to 60000/);
  });

  it('bounds token lifetimes (AUTH_JWT_MAX_TTL_SECONDS, 24 h by default) and reads the optional issuer and audience', () => {
    const d = parseConfig({}, { eventStoreUrl: 'pglite://x' });
    expect(d).toMatchObject({ authJwtMaxTtlSeconds: 86_400, authJwtIssuer: null, authJwtAudience: null });
    const c = parseConfig({ EVENT_STORE_URL: 'pglite://x', AUTH_JWT_MAX_TTL_SECONDS: '3600', AUTH_JWT_ISSUER: 'https://idp.acme', AUTH_JWT_AUDIENCE: 'signoff' });
    expect(c).toMatchObject({ authJwtMaxTtlSeconds: 3600, authJwtIssuer: 'https://idp.acme', authJwtAudience: 'signoff' });
    expect(() => parseConfig({ EVENT_STORE_URL: 'pglite://x', AUTH_JWT_MAX_TTL_SECONDS: '0' })).toThrow(/AUTH_JWT_MAX_TTL_SECONDS=0/);
    expect(() => parseConfig({ EVENT_STORE_URL: 'pglite://x', AUTH_JWT_MAX_TTL_SECONDS: 'forever' })).toThrow(/AUTH_JWT_MAX_TTL_SECONDS/);
  });

  it('takes AUTH_JWKS_URL over https only, plain http on a loopback host only', () => {
    const jwks = (url: string) => () => parseConfig({ EVENT_STORE_URL: 'pglite://x', AUTH_JWKS_URL: url });
    expect(jwks('https://idp.acme/.well-known/jwks.json')()).toMatchObject({ authJwksUrl: 'https://idp.acme/.well-known/jwks.json' });
    for (const loopback of ['http://127.0.0.1:8000/jwks', 'http://[::1]:8000/jwks', 'http://localhost/jwks']) expect(jwks(loopback)).not.toThrow();
    for (const bad of ['http://idp.acme/jwks', 'http://10.0.0.1/jwks', 'http://localhost.evil.com/jwks', 'http://127.0.0.1.nip.io/jwks', 'ftp://idp/jwks', 'not a url']) {
      expect(jwks(bad), bad).toThrow(ConfigError);
    }
    expect(jwks('http://idp.acme/jwks')).toThrow(/AUTH_JWKS_URL.*must be an https URL/);
  });
});

describe('parseConfig: trust between components (DESIGN section 12)', () => {
  const base = { EVENT_STORE_URL: 'postgres://a/b', KAFKA_BROKERS: 'k:9092' };
  it('defaults: no signing key, grants valid 1 h, Kafka ingress authenticated', () => {
    expect(parseConfig(base)).toMatchObject({ signingKeyFile: null, signingKeyId: null, grantTtlMs: 3_600_000, kafkaIngressTrusted: false, workerToken: null });
  });
  it('reads the signing key, its id, the grant lifetime, the trusted-network opt-out and the worker token', () => {
    const c = parseConfig({
      ...base,
      SIGNOFF_SIGNING_KEY_FILE: '/etc/signoff/signing-key.json',
      SIGNOFF_SIGNING_KEY_ID: 'k-2026',
      DISPATCH_GRANT_TTL_MS: '60000',
      KAFKA_INGRESS_TRUSTED: 'true',
      SIGNOFF_WORKER_TOKEN: 'eyJ…',
    });
    expect(c).toMatchObject({ signingKeyFile: '/etc/signoff/signing-key.json', signingKeyId: 'k-2026', grantTtlMs: 60_000, kafkaIngressTrusted: true, workerToken: 'eyJ…' });
  });
  it('a service that signs refuses to start without a key; bad values are listed', () => {
    expect(() => parseConfig(base, { signingKeyRequired: true })).toThrow(/SIGNOFF_SIGNING_KEY_FILE is required/);
    expect(() => parseConfig({ ...base, KAFKA_INGRESS_TRUSTED: 'yes' })).toThrow(/KAFKA_INGRESS_TRUSTED=yes must be true or false/);
    expect(() => parseConfig({ ...base, DISPATCH_GRANT_TTL_MS: '10' })).toThrow(/DISPATCH_GRANT_TTL_MS/);
  });
});

describe('parseConfig: the standalone and its in-process worker', () => {
  it('with AUTH_JWKS_URL, an in-process worker needs SIGNOFF_WORKER_TOKEN', () => {
    const env = { EVENT_STORE_URL: 'pglite://memory', AUTH_JWKS_URL: 'https://idp.acme/jwks' };
    expect(() => parseConfig(env, { inProcessWorker: true })).toThrow(/with AUTH_JWKS_URL, set SIGNOFF_WORKER_TOKEN/);
    expect(parseConfig({ ...env, SIGNOFF_WORKER_TOKEN: 'eyJ…' }, { inProcessWorker: true }).workerToken).toBe('eyJ…');
    expect(() => parseConfig(env)).not.toThrow();
  });
});

describe('parseWorkerConfig: a worker on the SDK (the demo worker)', () => {
  const base = { KAFKA_BROKERS: 'k:9092', WORKER_DATABASE_URL: 'postgres://w/db', SIGNOFF_GRANT_JWKS: 'https://dispatch.acme/.well-known/jwks.json', SIGNOFF_WORKER_TOKEN: 'eyJ…' };
  it('applies the defaults', () => {
    expect(parseWorkerConfig(base)).toMatchObject({
      brokers: ['k:9092'],
      topicPrefix: 'signoff.',
      databaseUrl: 'postgres://w/db',
      groupId: 'signoff-demo-worker',
      leaseMs: 30_000,
      workMs: 0,
      mode: 'transactional',
      fault: null,
      port: 8083,
      host: '127.0.0.1',
      logLevel: 'info',
    });
    expect(parseWorkerConfig({ ...base, WORKER_DATABASE_URL: undefined, EVENT_STORE_URL: 'pglite://./w' }).databaseUrl).toBe('pglite://./w');
  });
  it('keeps a deployment\'s workers in their own consumer group under another topic prefix', () => {
    // Two deployments on one broker must not share a group: kafkajs's round-robin assigner would
    // give one deployment's worker the other's dispatch partitions, which it never reads.
    expect(parseWorkerConfig({ ...base, KAFKA_TOPIC_PREFIX: 'acme.' })).toMatchObject({ topicPrefix: 'acme.', groupId: 'acme.demo-worker' });
    expect(parseWorkerConfig({ ...base, KAFKA_TOPIC_PREFIX: 'signoff.' }).groupId).toBe('signoff-demo-worker');
    expect(parseWorkerConfig({ ...base, KAFKA_TOPIC_PREFIX: 'acme.', WORKER_GROUP_ID: 'shared' }).groupId).toBe('shared');
    expect(defaultWorkerGroupId('', 'demo-worker')).toBe('demo-worker');
  });
  it('refuses a topic prefix Kafka cannot name a topic with, as the services do', () => {
    for (const prefix of ['acme/', 'a\u0000b', 'ünï.', 'a b']) {
      expect(() => parseWorkerConfig({ ...base, KAFKA_TOPIC_PREFIX: prefix })).toThrow(/KAFKA_TOPIC_PREFIX=.* may only hold letters, digits/);
      expect(() => parseConfig({ EVENT_STORE_URL: 'pglite://memory', KAFKA_TOPIC_PREFIX: prefix })).toThrow(/KAFKA_TOPIC_PREFIX=.* may only hold letters, digits/);
    }
    expect(topicPrefixProblem('a\u0000b')).toBe('KAFKA_TOPIC_PREFIX="a\\u0000b" may only hold letters, digits, . _ -');
  });
  it('reads the mode and the test-only fault hook', () => {
    expect(parseWorkerConfig({ ...base, WORKER_MODE: 'external', WORKER_FAULT: 'after-effect', WORKER_FAULT_JOB: 'job-1' })).toMatchObject({
      mode: 'external',
      fault: { point: 'after-effect', jobId: 'job-1' },
    });
  });
  it('names every bad value', () => {
    let problems: readonly string[] = [];
    try {
      parseWorkerConfig({ WORKER_LEASE_MS: '10', WORKER_MODE: 'twice', WORKER_FAULT: 'explode' });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems.join('\n')).toMatch(
      /KAFKA_BROKERS is required[\s\S]*WORKER_DATABASE_URL[\s\S]*SIGNOFF_GRANT_JWKS is required[\s\S]*SIGNOFF_WORKER_TOKEN is required[\s\S]*WORKER_LEASE_MS must be at least 100[\s\S]*WORKER_MODE=twice[\s\S]*WORKER_FAULT=explode/,
    );
  });
});

describe('the known environment names (config-env.ts): exactly what the parsers read', () => {
  /** Every name a parse reads, whatever it finds there. */
  function readsOf(parse: (env: Record<string, string | undefined>) => unknown, values: Record<string, string>): Set<string> {
    const read = new Set<string>();
    const env = new Proxy(values, {
      get: (target, name) => {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    try {
      parse(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
    }
    return read;
  }
  // Values that take every branch that reads a further variable (a fault point reads its job).
  const everything = (names: readonly string[], extra: Record<string, string>) => ({ ...Object.fromEntries(names.map((n) => [n, '1'])), ...extra });

  it('parseConfig reads SERVICE_ENV_NAMES and nothing else', () => {
    const read = readsOf(parseConfig, everything(SERVICE_ENV_NAMES, { SIGNOFF_FAULT: 'crash-after-claim' }));
    expect([...read].sort()).toEqual([...SERVICE_ENV_NAMES].sort());
  });

  it('parseWorkerConfig reads WORKER_ENV_NAMES and nothing else', () => {
    const read = new Set([
      ...readsOf(parseWorkerConfig, everything(WORKER_ENV_NAMES, { WORKER_FAULT: 'after-claim' })),
      // Without WORKER_DATABASE_URL it falls back to EVENT_STORE_URL.
      ...readsOf(parseWorkerConfig, everything(WORKER_ENV_NAMES, { WORKER_DATABASE_URL: '' })),
    ]);
    expect([...read].sort()).toEqual([...WORKER_ENV_NAMES].sort());
  });

  it('parseTracingEnv reads TRACING_ENV_NAMES and nothing else', () => {
    const valid = {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_SDK_DISABLED: 'false',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.5',
      OTEL_RESOURCE_ATTRIBUTES: 'a=b',
    };
    const parse = (env: Record<string, string | undefined>) => parseTracingEnv(env, 'policy');
    const read = new Set([
      ...readsOf(parse, everything(TRACING_ENV_NAMES, valid)),
      // The generic OTEL_EXPORTER_OTLP_PROTOCOL is read when the traces-specific one is unset.
      ...readsOf(parse, (({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: _unset, ...rest }) => rest)(everything(TRACING_ENV_NAMES, valid))),
    ]);
    expect([...read].sort()).toEqual([...TRACING_ENV_NAMES].sort());
  });

  it('names the test-only hooks among them', () => {
    const known = new Set<string>([...SERVICE_ENV_NAMES, ...WORKER_ENV_NAMES, ...TRACING_ENV_NAMES]);
    for (const name of TEST_ONLY_ENV_NAMES) expect(known.has(name), name).toBe(true);
  });
});
