import { describe, expect, it } from 'vitest';
import { ConfigError } from './config';
import { parseTracingEnv } from './tracing.config';

const problems = (env: Record<string, string>): readonly string[] => {
  try {
    parseTracingEnv(env, 'policy-service');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('parseTracingEnv (the standard OTEL_* variables)', () => {
  it('is off by default, named after the service', () => {
    expect(parseTracingEnv({}, 'policy-service')).toEqual({
      exporter: 'none',
      serviceName: 'signoff-policy-service',
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
    });
  });

  it('reads the exporter, service name, resource attributes and sampler', () => {
    const config = parseTracingEnv(
      {
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_SERVICE_NAME: 'policy-eu',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,team=pay%2Cments',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      },
      'policy-service',
    );
    expect(config).toEqual({
      exporter: 'otlp',
      serviceName: 'policy-eu',
      resourceAttributes: { 'deployment.environment.name': 'prod', team: 'pay,ments' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
    });
  });

  it('takes service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is unset', () => {
    expect(parseTracingEnv({ OTEL_TRACES_EXPORTER: 'console', OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge' }, 'x').serviceName).toBe('edge');
  });

  it('OTEL_SDK_DISABLED=true turns it off whatever the exporter', () => {
    expect(parseTracingEnv({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, 'x').exporter).toBe('none');
  });

  it('the test-only file exporter needs its file', () => {
    expect(parseTracingEnv({ OTEL_TRACES_EXPORTER: 'signoff-test-file', SIGNOFF_TEST_TRACES_FILE: '/tmp/s.jsonl' }, 'x').testFile).toBe('/tmp/s.jsonl');
    expect(problems({ OTEL_TRACES_EXPORTER: 'signoff-test-file' })).toEqual(['OTEL_TRACES_EXPORTER=signoff-test-file needs SIGNOFF_TEST_TRACES_FILE']);
  });

  it('refuses what it cannot honour, naming every problem', () => {
    expect(
      problems({
        OTEL_TRACES_EXPORTER: 'jaeger',
        OTEL_RESOURCE_ATTRIBUTES: 'novalue,=x,%E0%A4%A=bad',
        OTEL_TRACES_SAMPLER: 'sometimes',
      }),
    ).toEqual([
      expect.stringContaining('OTEL_TRACES_EXPORTER must be one of none, otlp, console, signoff-test-file'),
      expect.stringContaining('"novalue" is not key=value'),
      expect.stringContaining('"=x" is not key=value'),
      expect.stringContaining('"%E0%A4%A=bad" is not key=value'),
      expect.stringContaining('OTEL_TRACES_SAMPLER must be one of'),
    ]);
    expect(problems({ OTEL_TRACES_EXPORTER: 'otlp,console' })).toEqual([expect.stringContaining('one exporter at a time')]);
    expect(problems({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toEqual([expect.stringContaining('only http/protobuf')]);
    expect(problems({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toEqual([expect.stringContaining('ratio from 0 to 1')]);
  });
});
