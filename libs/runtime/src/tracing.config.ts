import type { SamplerName, TracesExporter, TracingConfig } from '@signoff/observability';
import { ConfigError } from './config';

const EXPORTERS: readonly TracesExporter[] = ['none', 'otlp', 'console', 'signoff-test-file'];
const SAMPLERS: readonly SamplerName[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

/**
 * The tracing configuration from the standard OpenTelemetry variables (read once, at the
 * composition root, like the rest of the environment; a bad value stops start-up):
 * - `OTEL_TRACES_EXPORTER`: `none` (default: tracing off), `otlp` (OTLP/HTTP protobuf, to
 *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, default
 *   `http://localhost:4318/v1/traces`; headers, timeout and compression from the matching
 *   `OTEL_EXPORTER_OTLP_*`, read by the exporter), `console`; TEST ONLY `signoff-test-file` with
 *   `SIGNOFF_TEST_TRACES_FILE` (one JSON line per finished span);
 * - `OTEL_SDK_DISABLED=true`: off, whatever the exporter;
 * - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: only `http/protobuf`;
 * - `OTEL_SERVICE_NAME` (default `signoff-<service>`), `OTEL_RESOURCE_ATTRIBUTES` (`k=v,…`);
 * - `OTEL_TRACES_SAMPLER` (default `parentbased_always_on`), `OTEL_TRACES_SAMPLER_ARG` (the ratio, 0..1).
 */
export function parseTracingEnv(env: Readonly<Record<string, string | undefined>>, service: string): TracingConfig {
  const problems: string[] = [];
  const raw = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  const names = raw === '' ? ['none'] : raw.split(',').map((n) => n.trim());
  let exporter: TracesExporter = 'none';
  if (names.length > 1 && names.some((n) => n !== 'none')) {
    problems.push(`OTEL_TRACES_EXPORTER: one exporter at a time (${EXPORTERS.join(', ')}), got "${raw}"`);
  } else if (!EXPORTERS.includes(names[0] as TracesExporter)) {
    problems.push(`OTEL_TRACES_EXPORTER must be one of ${EXPORTERS.join(', ')}, got "${raw}"`);
  } else {
    exporter = names[0] as TracesExporter;
  }
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') exporter = 'none';

  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim();
  if (exporter === 'otlp' && protocol !== '' && protocol !== 'http/protobuf') {
    problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is supported, got "${protocol}"`);
  }

  const resourceAttributes: Record<string, string> = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    let key = '';
    let value = '';
    try {
      key = decodeURIComponent(pair.slice(0, at).trim());
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      key = '';
    }
    if (at <= 0 || key === '') problems.push(`OTEL_RESOURCE_ATTRIBUTES: "${pair.slice(0, 80)}" is not key=value (percent-encoded)`);
    else resourceAttributes[key] = value;
  }

  const samplerRaw = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  let sampler: SamplerName = 'parentbased_always_on';
  if (samplerRaw !== '') {
    if (SAMPLERS.includes(samplerRaw as SamplerName)) sampler = samplerRaw as SamplerName;
    else problems.push(`OTEL_TRACES_SAMPLER must be one of ${SAMPLERS.join(', ')}, got "${samplerRaw}"`);
  }
  let samplerRatio = 1;
  const arg = (env.OTEL_TRACES_SAMPLER_ARG ?? '').trim();
  if (arg !== '' && sampler.endsWith('traceidratio')) {
    const ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) problems.push(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${arg}"`);
    else samplerRatio = ratio;
  }

  const testFile = (env.SIGNOFF_TEST_TRACES_FILE ?? '').trim();
  if (exporter === 'signoff-test-file' && testFile === '') problems.push('OTEL_TRACES_EXPORTER=signoff-test-file needs SIGNOFF_TEST_TRACES_FILE');

  if (problems.length > 0) throw new ConfigError(problems);
  const serviceName = (env.OTEL_SERVICE_NAME ?? '').trim() || resourceAttributes['service.name'] || `signoff-${service}`;
  return { exporter, serviceName, resourceAttributes, sampler, samplerRatio, ...(exporter === 'signoff-test-file' ? { testFile } : {}) };
}
