import fs from 'node:fs';
import path from 'node:path';
import { PATH_METADATA } from '@nestjs/common/constants';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HEALTH_SERVICES } from '@signoff/approval-service';
import { DEMO_WORKER_PATHS } from '@signoff/demo-worker';
import { DISPATCH_CONFIG_DEFAULTS } from '@signoff/dispatch-service';
import { SigningKeySet } from '@signoff/keys';
import { OpsController } from '@signoff/observability';
import {
  ConfigDefaults,
  ConfigError,
  DISTRIBUTED_SERVICE_DEFAULTS,
  MCP_GATEWAY_ENV_NAMES,
  OTLP_EXPORTER_ENV_NAMES,
  parseConfig,
  parseWorkerConfig,
  SERVICE_ENV_NAMES,
  TEST_ONLY_ENV_NAMES,
  TRACING_ENV_NAMES,
  WORKER_ENV_NAMES,
} from '@signoff/runtime';

/**
 * deploy/k8s against the code and the docs (issue 16 §5): every variable a manifest sets is one the
 * process's configuration parser reads, the parser accepts what the manifests give once the
 * secrets are filled in (and refuses the blanks as shipped), the probes ask what the apps serve on
 * the ports they listen on, and the README's Configuration table names the same variables as the
 * parsers. No drift between docs, manifests and code.
 */

const ROOT = path.resolve(__dirname, '../..');
const K8S = path.join(ROOT, 'deploy', 'k8s');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: Record<string, unknown>;
  resources?: string[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  grpc?: { port: number; service?: string };
}
interface Container {
  name: string;
  image: string;
  command: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string }; configMap?: { name: string }; emptyDir?: object }[];
}

function load(file: string): Obj[] {
  return parseAllDocuments(fs.readFileSync(path.join(K8S, file), 'utf8')).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Obj;
  });
}

const files = fs.readdirSync(K8S).filter((f) => f.endsWith('.yaml'));
const kustomization = load('kustomization.yaml')[0];
const objects = files.filter((f) => f !== 'kustomization.yaml').flatMap((file) => load(file).map((obj) => ({ file, obj })));
const byKind = (kind: string) => objects.filter(({ obj }) => obj.kind === kind).map(({ obj }) => obj);
const configMap = (name: string) => byKind('ConfigMap').find((o) => o.metadata.name === name);
const secret = (name: string) => byKind('Secret').find((o) => o.metadata.name === name);
const deployments = byKind('Deployment');
const podOf = (d: Obj) => (d.spec as { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } }).template;

/** Which parser reads a container's environment, and with which requirements (as its main.ts starts it). */
const APPS: Record<string, { parser: 'service'; defaults: ConfigDefaults } | { parser: 'worker' }> = {
  'policy-service': { parser: 'service', defaults: DISTRIBUTED_SERVICE_DEFAULTS },
  'approval-service': { parser: 'service', defaults: DISTRIBUTED_SERVICE_DEFAULTS },
  'dispatch-service': { parser: 'service', defaults: { ...DISTRIBUTED_SERVICE_DEFAULTS, ...DISPATCH_CONFIG_DEFAULTS } },
  'demo-worker': { parser: 'worker' },
};
const appOf = (c: Container) => /^apps\/([a-z-]+)\/src\/main\.ts$/.exec(c.command.at(-1) ?? '')?.[1] ?? '';

/** A container's environment as Kubernetes gives it, with where each value comes from. */
function environmentOf(c: Container): Map<string, { value: string; fromSecret: string | null }> {
  const env = new Map<string, { value: string; fromSecret: string | null }>();
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const map = configMap(from.configMapRef.name);
      expect(map, `ConfigMap ${from.configMapRef.name}`).toBeDefined();
      for (const [name, value] of Object.entries(map!.data ?? {})) env.set(name, { value, fromSecret: null });
    }
    if (from.secretRef) {
      const s = secret(from.secretRef.name);
      expect(s, `Secret ${from.secretRef.name}`).toBeDefined();
      for (const [name, value] of Object.entries({ ...s!.data, ...s!.stringData })) env.set(name, { value, fromSecret: from.secretRef.name });
    }
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    if (!ref) {
      env.set(e.name, { value: e.value ?? '', fromSecret: null });
      continue;
    }
    const source = e.valueFrom?.configMapKeyRef ? configMap(ref.name)?.data : { ...secret(ref.name)?.data, ...secret(ref.name)?.stringData };
    expect(source?.[ref.key], `${c.name}: ${e.name} from ${ref.name}/${ref.key}`).toBeDefined();
    env.set(e.name, { value: source![ref.key], fromSecret: e.valueFrom?.secretKeyRef ? ref.name : null });
  }
  return env;
}

/** What a filled-in Secret holds (the shipped ones are blank on purpose). */
const FILLED: Record<string, string> = {
  EVENT_STORE_URL: 'postgres://signoff:s3cret@postgres.signoff.svc:5432/signoff',
  WORKER_DATABASE_URL: 'postgres://worker:s3cret@postgres.signoff.svc:5432/worker',
  AUTH_JWT_SECRET: 'k'.repeat(44),
  SIGNOFF_WORKER_TOKEN: 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln',
};

/** The file a mounted variable names, from the volume mounted there; `content` filled in for the parse. */
function mountedFile(pod: PodSpec, c: Container, file: string): { source: string; key: string } {
  const mount = (c.volumeMounts ?? []).find((m) => path.dirname(file) === m.mountPath);
  expect(mount, `${c.name}: ${file} is under a volume mount`).toBeDefined();
  const volume = pod.volumes?.find((v) => v.name === mount!.name);
  const key = path.basename(file);
  if (volume?.secret) {
    expect(Object.keys({ ...secret(volume.secret.secretName)?.stringData, ...secret(volume.secret.secretName)?.data }), file).toContain(key);
    return { source: `Secret ${volume.secret.secretName}`, key };
  }
  expect(volume?.configMap, `${c.name}: ${file} comes from a Secret or a ConfigMap`).toBeDefined();
  expect(Object.keys(configMap(volume!.configMap!.name)?.data ?? {}), file).toContain(key);
  return { source: `ConfigMap ${volume!.configMap!.name}`, key };
}

/** The environment parsed as the app's main.ts parses it: the listen ports, or the ConfigError. */
function parse(app: string, env: Record<string, string>): { port: number; grpcPort: number | null } {
  const spec = APPS[app];
  if (spec.parser === 'worker') return { port: parseWorkerConfig(env).port, grpcPort: null };
  const config = parseConfig(env, spec.defaults);
  return { port: config.port, grpcPort: config.grpcPort };
}

/** The HTTP paths the services' ops controller serves (outside /api/v1), and the demo worker's. */
const opsPaths = Object.getOwnPropertyNames(OpsController.prototype)
  .map((name) => Reflect.getMetadata(PATH_METADATA, (OpsController.prototype as unknown as Record<string, object>)[name]) as string | undefined)
  .filter((p): p is string => typeof p === 'string')
  .map((p) => `/${p}`);
const SERVED: Record<'service' | 'worker', { live: string; ready: string; all: string[] }> = {
  service: { live: '/health/live', ready: '/health/ready', all: opsPaths },
  worker: { live: DEMO_WORKER_PATHS.live, ready: DEMO_WORKER_PATHS.ready, all: Object.values(DEMO_WORKER_PATHS) },
};

describe('deploy/k8s', () => {
  it('is valid YAML of the expected objects; the kustomization lists every manifest but the secrets', () => {
    expect(kustomization.kind).toBe('Kustomization');
    expect([...(kustomization.resources ?? [])].sort()).toEqual(files.filter((f) => !['kustomization.yaml', 'secrets.yaml'].includes(f)).sort());
    // Applied on their own: `kubectl apply -k` must never overwrite real secrets with blanks.
    expect(load('secrets.yaml').every((o) => o.kind === 'Secret')).toBe(true);
    expect(deployments.map((d) => appOf(podOf(d).spec.containers[0])).sort()).toEqual(Object.keys(APPS).sort());
  });

  describe.each(Object.keys(APPS))('the %s Deployment', (app) => {
    const deployment = deployments.find((d) => appOf(podOf(d).spec.containers[0]) === app)!;
    const pod = podOf(deployment).spec;
    const [c] = pod.containers;
    const spec = APPS[app];
    const known = new Set<string>(spec.parser === 'worker' ? WORKER_ENV_NAMES : SERVICE_ENV_NAMES);

    it('runs the app of the repository in the one image', () => {
      expect(pod.containers).toHaveLength(1);
      expect(fs.existsSync(path.join(ROOT, c.command.at(-1)!))).toBe(true);
      expect(c.command.slice(0, -1)).toEqual(['node', '--enable-source-maps', '-r', './tools/register.cjs']);
      expect(c.image).toBe('signoff');
    });

    it("sets only variables its configuration parser reads, never a test-only hook", () => {
      const names = [...environmentOf(c).keys()];
      expect(names.filter((n) => !known.has(n)), 'unknown to the parser').toEqual([]);
      expect(names.filter((n) => TEST_ONLY_ENV_NAMES.includes(n as never))).toEqual([]);
    });

    it('starts once the secrets are filled in, and refuses to start on the blanks as shipped', () => {
      const env = environmentOf(c);
      const filled: Record<string, string> = {};
      const blanks: string[] = [];
      for (const [name, { value, fromSecret }] of env) {
        if (fromSecret !== null) {
          expect(FILLED[name], `a filled-in value for ${name} (Secret ${fromSecret})`).toBeDefined();
          if (value === '') blanks.push(name);
          filled[name] = FILLED[name];
        } else filled[name] = value;
      }
      // Files a variable names are mounted from the Secret or ConfigMap that holds them.
      if (filled.SIGNOFF_SIGNING_KEY_FILE) expect(mountedFile(pod, c, filled.SIGNOFF_SIGNING_KEY_FILE).source).toMatch(/^Secret /);
      if (filled.SIGNOFF_GRANT_JWKS) {
        mountedFile(pod, c, filled.SIGNOFF_GRANT_JWKS);
        // The parser checks the key set: give it the file's content as a real public set would be.
        filled.SIGNOFF_GRANT_JWKS = JSON.stringify(SigningKeySet.generate().publicJwks());
      }
      expect(() => parse(app, filled)).not.toThrow();
      expect(blanks.length).toBeGreaterThan(0);
      const shipped = Object.fromEntries([...env].map(([name, { value }]) => [name, value]));
      const error = (() => {
        try {
          parse(app, shipped);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ConfigError);
      for (const blank of blanks.filter((b) => b !== 'WORKER_DATABASE_URL')) expect((error as ConfigError).message).toContain(blank);
    });

    it('listens on the pod address, on the ports it declares, and probes what the app serves there', () => {
      const env = Object.fromEntries([...environmentOf(c)].map(([name, { value, fromSecret }]) => [name, fromSecret ? FILLED[name] : value]));
      if (env.SIGNOFF_GRANT_JWKS) env.SIGNOFF_GRANT_JWKS = JSON.stringify(SigningKeySet.generate().publicJwks());
      expect(env.HOST).toBe('0.0.0.0');
      const { port, grpcPort } = parse(app, env);
      const portOf = (p: string | number) => (typeof p === 'number' ? p : c.ports?.find((cp) => cp.name === p)?.containerPort);
      expect(c.ports?.find((p) => p.name === 'http')?.containerPort).toBe(port);
      const served = SERVED[spec.parser];
      for (const [kind, probe, expected] of [
        ['startup', c.startupProbe, served.live],
        ['liveness', c.livenessProbe, served.live],
        ['readiness', c.readinessProbe, served.ready],
      ] as const) {
        expect(probe, `${kind} probe`).toBeDefined();
        if (probe!.grpc) {
          // gRPC health: the reviewer gateway's port, a service its health server answers.
          expect(app).toBe('approval-service');
          expect(probe!.grpc.port).toBe(grpcPort);
          expect(c.ports?.find((p) => p.name === 'grpc')?.containerPort).toBe(grpcPort);
          expect(HEALTH_SERVICES as readonly string[]).toContain(probe!.grpc.service ?? '');
          continue;
        }
        expect(probe!.httpGet?.path, `${kind} probe`).toBe(expected);
        expect(served.all).toContain(probe!.httpGet!.path);
        expect(portOf(probe!.httpGet!.port), `${kind} probe port`).toBe(port);
      }
      if (app === 'approval-service') expect(c.readinessProbe?.grpc, 'the gateway is probed over gRPC').toBeDefined();
    });

    it('has resource requests and limits, runs as non-root on a read-only root filesystem', () => {
      for (const kind of ['requests', 'limits'] as const) {
        expect(c.resources?.[kind]?.cpu, `${kind}.cpu`).toBeTruthy();
        expect(c.resources?.[kind]?.memory, `${kind}.memory`).toBeTruthy();
      }
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // tools/register.cjs writes its compile cache: a writable volume there.
      const cache = c.volumeMounts?.find((m) => m.mountPath === '/app/node_modules/.cache/signoff-swc');
      expect(pod.volumes?.find((v) => v.name === cache?.name)?.emptyDir).toBeDefined();
    });

    it('is reached through a Service whose selector and ports match the pod', () => {
      const labels = podOf(deployment).metadata.labels;
      const services = byKind('Service').filter((s) => {
        const selector = (s.spec as { selector: Record<string, string> }).selector;
        return Object.entries(selector).every(([k, v]) => labels[k] === v);
      });
      expect(services).toHaveLength(1);
      const ports = (services[0].spec as { ports: { targetPort: string | number }[] }).ports;
      for (const p of ports) expect(c.ports?.map((cp) => cp.name)).toContain(p.targetPort);
      expect(ports.map((p) => p.targetPort)).toContain('http');
    });
  });
});

/** The variables the README's Configuration table names (first column). */
function readmeConfigurationNames(): Set<string> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const table = section.slice(0, section.search(/\n#{2,3} (?!Configuration)/));
  const names = new Set<string>();
  for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const m of line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

/** DESIGN section 10. */
const DESIGN_SECTION_10 = [
  'PORT',
  'GRPC_PORT',
  'EVENT_STORE_URL',
  'KAFKA_BROKERS',
  'KAFKA_TOPIC_PREFIX',
  'POLICY_PATH',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'SNAPSHOT_MODE',
  'DISPATCH_GRACE_MS',
  'WORKER_ACK_TIMEOUT_MS',
];

describe('the README Configuration table, the parsers and the manifests name the same variables', () => {
  const documented = readmeConfigurationNames();
  const known = new Set<string>([...SERVICE_ENV_NAMES, ...WORKER_ENV_NAMES, ...MCP_GATEWAY_ENV_NAMES, ...TRACING_ENV_NAMES, ...OTLP_EXPORTER_ENV_NAMES]);

  it('documents every variable a parser reads (the test-only hooks aside), and nothing else', () => {
    const deployable = [...known].filter((n) => !TEST_ONLY_ENV_NAMES.includes(n as never));
    expect(deployable.filter((n) => !documented.has(n)), 'read, not documented').toEqual([]);
    expect([...documented].filter((n) => !known.has(n)), 'documented, read by no parser').toEqual([]);
  });

  it('holds the variables of DESIGN section 10', () => {
    for (const name of DESIGN_SECTION_10) {
      expect(known.has(name), name).toBe(true);
      expect(documented.has(name), name).toBe(true);
    }
  });

  it('documents every variable the manifests set', () => {
    const set = new Set<string>([
      ...byKind('ConfigMap').filter((m) => m.metadata.name === 'signoff-config').flatMap((m) => Object.keys(m.data ?? {})),
      ...deployments.flatMap((d) => [...environmentOf(podOf(d).spec.containers[0]).keys()]),
    ]);
    expect([...set].filter((n) => !documented.has(n))).toEqual([]);
  });
});
