import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { patchKafkaJsNegativeTimeout } from '@signoff/messaging';
import { Kafka, logLevel } from 'kafkajs';

// kafkajs's negative timer (TimeoutNegativeWarning on Node 24): see @signoff/messaging.
patchKafkaJsNegativeTimeout();
import { freePort, isAlive } from '../ports';

const POM = path.join(__dirname, 'pom.xml');

/** A running Kafka broker. */
export interface KafkaHandle {
  readonly brokers: string[];
  /** The broker version (from the pom), e.g. `4.1.1`. */
  readonly version: string;
  readonly pid: number | null;
  stop(): Promise<void>;
}

export interface StartKafkaOptions {
  /** Keep the log directory here instead of a temporary one. */
  readonly dataDir?: string;
  readonly log?: (line: string) => void;
  /** Milliseconds to wait for the broker to answer a metadata request. */
  readonly timeoutMs?: number;
  /** Told the broker's pid (its process group) as soon as it is spawned. */
  readonly onSpawn?: (pid: number) => void;
}

/** The Kafka version the pom declares. */
export function kafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(fs.readFileSync(POM, 'utf8'));
  if (!match) throw new Error(`no <kafka.version> in ${POM}`);
  return match[1];
}

/**
 * Copies the broker's jars from Maven Central into `~/.cache/signoff/kafka-<version>-<pom hash>`
 * (or `$SIGNOFF_CACHE_DIR`) once; later calls reuse the cache. Returns the folder.
 */
export function ensureKafkaJars(log: (line: string) => void = () => undefined): string {
  const pom = fs.readFileSync(POM);
  const hash = crypto.createHash('sha256').update(pom).digest('hex').slice(0, 12);
  const cacheRoot = process.env.SIGNOFF_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'signoff');
  const dir = path.join(cacheRoot, `kafka-${kafkaVersion()}-${hash}`);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return dir;
  for (const tool of ['java', 'mvn']) {
    try {
      execFileSync(tool, ['-version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} was not found on PATH: the local Kafka broker needs Java 17+ and Maven (Debian: apt-get install openjdk-17-jre-headless maven).`);
    }
  }
  log(`kafka: fetching kafka_2.13 ${kafkaVersion()} jars with Maven into ${dir}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  execFileSync(
    'mvn',
    ['-q', '-B', '-Dstyle.color=never', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  fs.writeFileSync(path.join(tmp, '.complete'), new Date().toISOString());
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

function brokerProperties(dataDir: string, port: number, controllerPort: number): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(dataDir, 'logs')}`,
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=6',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'num.partitions=6',
    'auto.create.topics.enable=true',
    'log.flush.interval.messages=9223372036854775807',
    '',
  ].join('\n');
}

/**
 * Starts a real Apache Kafka broker in KRaft combined mode (broker + controller, node 1) on free
 * 127.0.0.1 ports, and resolves once a client can fetch metadata from it.
 * With `dataDir` and an already formatted log directory, the broker restarts on its old data.
 */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaHandle> {
  const log = options.log ?? (() => undefined);
  const jars = ensureKafkaJars(log);
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-kafka-'));
  fs.mkdirSync(dataDir, { recursive: true });
  // A KRaft controller formatted with --standalone keeps its endpoint in the metadata log, so a
  // restart on old data must reuse the old ports.
  const portsFile = path.join(dataDir, 'ports.json');
  const [port, controllerPort] = fs.existsSync(portsFile)
    ? (JSON.parse(fs.readFileSync(portsFile, 'utf8')) as number[])
    : await distinctFreePorts(2);
  fs.writeFileSync(portsFile, JSON.stringify([port, controllerPort]));
  const props = path.join(dataDir, 'server.properties');
  fs.writeFileSync(props, brokerProperties(dataDir, port, controllerPort));
  const classpath = `${jars}${path.sep}*`;
  const started = Date.now();
  if (!fs.existsSync(path.join(dataDir, 'logs', 'meta.properties'))) {
    const clusterId = execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split('\n')
      .pop()!
      .trim();
    execFileSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', props], {
      stdio: 'ignore',
    });
  }
  const logFile = path.join(dataDir, 'broker.log');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx768m',
      '-XX:+UseG1GC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-cp',
      classpath,
      'kafka.Kafka',
      props,
    ],
    { stdio: ['ignore', out, out], detached: true },
  );
  fs.closeSync(out);
  child.unref();
  const pid = child.pid!;
  options.onSpawn?.(pid);
  const brokers = [`127.0.0.1:${port}`];
  const stop = async () => {
    await stopKafkaProcess(pid);
    if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForMetadata(brokers, options.timeoutMs ?? 60_000, pid);
  } catch (error) {
    await stop();
    const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-3000) : '';
    throw new Error(`Kafka did not start: ${(error as Error).message}\n${tail}`);
  }
  log(`kafka: ${kafkaVersion()} (KRaft) on ${brokers[0]} ready in ${Date.now() - started} ms (pid ${pid}, data ${dataDir})`);
  return { brokers, version: kafkaVersion(), pid, stop };
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function waitForMetadata(brokers: string[], timeoutMs: number, pid: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const kafka = new Kafka({ brokers, clientId: 'signoff-infra-probe', logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  for (;;) {
    if (!isAlive(pid)) throw new Error('the broker process exited');
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch {
      /* not ready yet */
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`no metadata from ${brokers.join(',')} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGTERM (controlled shutdown), SIGKILL after 15 s; resolves when the process is gone. */
export async function stopKafkaProcess(pid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const send = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        /* gone */
      }
    }
  };
  send(signal);
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) send('SIGKILL');
  while (isAlive(pid)) await new Promise((r) => setTimeout(r, 50));
}
