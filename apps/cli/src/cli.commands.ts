import fs from 'node:fs';
import path from 'node:path';
import {
  bundlePathForTestFile,
  diffPolicies,
  findPolicyTestFiles,
  formatPolicyError,
  readPolicyFile,
  readPolicyTestFile,
  runPolicyTests,
} from '@signoff/policy-engine';
import { isSafeIdentity, SignoffEvent } from '@signoff/contracts';
import { AUDIT_EVENT_TYPES, matchesAuditFilter, parseAuditFilter, RuleRedactions, toCloudEvent, type AuditFilter } from '@signoff/core';
import { auditTreeStoreOf, createEventStore } from '@signoff/event-store';
import { generateSigningKey, KeyConfigError, SigningKeySet } from '@signoff/keys';
import { parseRedactionList } from '@signoff/observability';
import { DEFAULT_AUTH_JWT_MAX_TTL_SECONDS, mintToken, parseConfig, readEnvFile, Role, ROLES } from '@signoff/runtime';
import { listReplayCandidates } from '@signoff/dispatch-service';
import { formatReport, logExportLines, readLogMaterial, verifyAuditLog } from './audit-verify';
import { checkReceipt, publicKeysOf, type DecisionReceipt } from '@signoff/audit-proof';

/** Where a command writes; exit code is its return value. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
}

type Command = (args: string[], io: Io) => Promise<number>;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}
function boolFlag(args: string[], name: string): boolean {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return false;
  args.splice(i, 1);
  return true;
}

/** `policy validate FILE...`: every error as file:line:column. */
const policyValidate: Command = async (args, io) => {
  if (args.length === 0) {
    io.err('usage: policy validate FILE...');
    return 2;
  }
  let bad = 0;
  for (const file of args) {
    const result = readPolicyFile(path.resolve(io.cwd, file));
    if (result.ok) io.out(`${file}: ok (${result.bundle.rules.length} rules, default ${result.bundle.default})`);
    else {
      bad += 1;
      for (const e of result.errors) io.out(formatPolicyError(e, file));
    }
  }
  return bad === 0 ? 0 : 1;
};

/** `policy test [FILE.test.yaml...]`: runs policy tests as data (default: every test under policies/). */
const policyTest: Command = async (args, io) => {
  const files = args.length > 0 ? args.map((f) => path.resolve(io.cwd, f)) : findPolicyTestFiles(path.resolve(io.cwd, 'policies'));
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const rel = path.relative(io.cwd, file);
    const tests = readPolicyTestFile(file);
    const bundlePath = bundlePathForTestFile(file);
    if (!tests.ok) {
      failed += 1;
      for (const e of tests.errors) io.out(formatPolicyError(e, rel));
      continue;
    }
    if (!bundlePath) {
      failed += 1;
      io.out(`${rel}: no bundle beside it (expected ${rel.replace(/\.test\.(ya?ml|json)$/, '.yaml')})`);
      continue;
    }
    const bundle = readPolicyFile(bundlePath);
    if (!bundle.ok) {
      failed += 1;
      for (const e of bundle.errors) io.out(formatPolicyError(e, path.relative(io.cwd, bundlePath)));
      continue;
    }
    const report = runPolicyTests(bundle.bundle, tests.cases);
    for (const r of report.results) {
      if (r.passed) passed += 1;
      else {
        failed += 1;
        io.out(`FAIL ${rel}${r.line ? `:${r.line}` : ''} ${r.name}: ${r.failures.join('; ')}`);
      }
    }
    io.out(`${rel}: ${report.passed}/${report.total} passed`);
  }
  io.out(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
};

/** `policy diff A B [--tests FILE]`: rules changed, and which test jobs change decision. */
const policyDiff: Command = async (args, io) => {
  const testsFile = flag(args, 'tests');
  const json = boolFlag(args, 'json');
  if (args.length !== 2) {
    io.err('usage: policy diff A.yaml B.yaml [--tests FILE.test.yaml] [--json]');
    return 2;
  }
  const [a, b] = args.map((f) => readPolicyFile(path.resolve(io.cwd, f)));
  for (const r of [a, b]) if (!r.ok) {
    for (const e of r.errors) io.out(formatPolicyError(e, path.relative(io.cwd, r.path)));
    return 1;
  }
  const testPath = testsFile ? path.resolve(io.cwd, testsFile) : null;
  const cases = testPath ? readPolicyTestFile(testPath) : null;
  if (cases && !cases.ok) {
    for (const e of cases.errors) io.out(formatPolicyError(e, testsFile));
    return 1;
  }
  if (!a.ok || !b.ok) return 1;
  const diff = diffPolicies(a.bundle, b.bundle, cases?.ok ? cases.cases : []);
  if (json) {
    io.out(JSON.stringify(diff, null, 2));
    return 0;
  }
  if (diff.identical) {
    io.out(`identical (${diff.from_snapshot})`);
    return 0;
  }
  io.out(`${diff.from_snapshot} -> ${diff.to_snapshot}`);
  if (diff.default) io.out(`default: ${diff.default.from} -> ${diff.default.to}`);
  for (const id of diff.rules.added) io.out(`+ rule ${id}`);
  for (const id of diff.rules.removed) io.out(`- rule ${id}`);
  for (const c of diff.rules.changed) io.out(`~ rule ${c.id} (${c.fields.join(', ')})`);
  for (const id of diff.rules.moved) io.out(`↕ rule ${id} moved`);
  for (const d of diff.decisions) io.out(`! ${d.name}: ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`);
  return 0;
};

/** `policy activate FILE`: validates locally, then `PUT /api/v1/policy` (admin token in SIGNOFF_TOKEN). */
const policyActivate: Command = async (args, io) => {
  if (args.length !== 1) {
    io.err('usage: policy activate FILE   (SIGNOFF_URL, SIGNOFF_TOKEN of an admin)');
    return 2;
  }
  const file = path.resolve(io.cwd, args[0]);
  const local = readPolicyFile(file);
  if (!local.ok) {
    for (const e of local.errors) io.out(formatPolicyError(e, args[0]));
    return 1;
  }
  return printApi(io, await api(io, 'PUT', '/policy', local.text, file.endsWith('.json') ? 'application/json' : 'application/yaml'));
};

/** `token --sub NAME --roles a,b [--topics g1,g2] [--tenants t1] [--ttl SECONDS]`: a development token. */
const token: Command = async (args, io) => {
  const sub = flag(args, 'sub');
  const roles = (flag(args, 'roles') ?? '').split(',').filter(Boolean);
  const topics = flag(args, 'topics');
  const tenants = flag(args, 'tenants');
  const ttl = Number(flag(args, 'ttl') ?? 12 * 3600);
  // The API refuses tokens living longer than AUTH_JWT_MAX_TTL_SECONDS (24 h by default).
  const maxTtl = Number(io.env.AUTH_JWT_MAX_TTL_SECONDS || DEFAULT_AUTH_JWT_MAX_TTL_SECONDS);
  const secret = io.env.AUTH_JWT_SECRET ?? readStandaloneSecret(io.cwd);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (!sub || roles.length === 0 || unknown.length > 0 || !Number.isInteger(ttl) || ttl < 1 || ttl > maxTtl || !isSafeIdentity(sub)) {
    io.err(
      `usage: token --sub NAME --roles ${ROLES.join(',')} [--topics glob,…] [--tenants t,…] [--ttl seconds, 1-${maxTtl}]` +
        (unknown.length ? `\nunknown roles: ${unknown.join(', ')}` : '') +
        (ttl > maxTtl ? `\n--ttl ${ttl} exceeds AUTH_JWT_MAX_TTL_SECONDS (${maxTtl}): the API would refuse the token` : ''),
    );
    return 2;
  }
  if (!secret) {
    io.err('no secret: set AUTH_JWT_SECRET, or run `npm start` once so the standalone secret exists in .signoff/data');
    return 2;
  }
  io.out(
    await mintToken(
      secret,
      {
        sub,
        roles: roles as Role[],
        ...(topics ? { topics: topics.split(',') } : {}),
        ...(tenants ? { tenants: tenants.split(',') } : {}),
        issuer: io.env.AUTH_JWT_ISSUER || null,
        audience: io.env.AUTH_JWT_AUDIENCE || null,
      },
      ttl,
    ),
  );
  return 0;
};

/** The standalone's generated secret (kept in its data directory). */
export function readStandaloneSecret(cwd: string): string | undefined {
  const file = path.join(cwd, '.signoff', 'data', 'auth-secret');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}

async function api(io: Io, method: string, route: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: unknown }> {
  const base = io.env.SIGNOFF_URL ?? 'http://127.0.0.1:8080';
  const tokenValue = io.env.SIGNOFF_TOKEN;
  if (!tokenValue) throw new Error('set SIGNOFF_TOKEN (e.g. SIGNOFF_TOKEN=$(npm run -s cli -- token --sub me --roles reviewer))');
  const res = await fetch(`${base}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${tokenValue}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, json };
}

function printApi(io: Io, r: { status: number; json: unknown }): number {
  io.out(JSON.stringify(r.json, null, 2));
  return r.status >= 200 && r.status < 300 ? 0 : 1;
}

/**
 * `approvals list [--topic GLOB] [--tenant T]`, `approvals show JOB_ID [--tenant T]`,
 * `approvals approve JOB_ID [--reason TEXT] [--tenant T]`, `approvals reject JOB_ID --reason TEXT
 * [--tenant T]` (over HTTP). Job ids are scoped by tenant: without `--tenant` the API takes the
 * token's only tenant, else `default`.
 */
const approvals: Command = async (args, io) => {
  const reason = flag(args, 'reason');
  const topic = flag(args, 'topic');
  const tenant = flag(args, 'tenant');
  const [sub, jobId] = args;
  const tenantQuery = tenant ? `?tenant=${encodeURIComponent(tenant)}` : '';
  switch (sub) {
    case 'list':
      return printApi(
        io,
        await api(io, 'GET', `/approvals?state=pending${topic ? `&topic=${encodeURIComponent(topic)}` : ''}${tenant ? `&tenant=${encodeURIComponent(tenant)}` : ''}`),
      );
    case 'show':
      if (!jobId) break;
      return printApi(io, await api(io, 'GET', `/approvals/${encodeURIComponent(jobId)}${tenantQuery}`));
    case 'approve':
      if (!jobId) break;
      return printApi(io, await api(io, 'POST', `/approvals/${encodeURIComponent(jobId)}/approve${tenantQuery}`, reason ? { reason } : {}));
    case 'reject':
      if (!jobId || !reason) break;
      return printApi(io, await api(io, 'POST', `/approvals/${encodeURIComponent(jobId)}/reject${tenantQuery}`, { reason }));
  }
  io.err(
    'usage: approvals list [--topic GLOB] [--tenant T] | approvals show JOB_ID [--tenant T] | approvals approve JOB_ID [--reason TEXT] [--tenant T] | approvals reject JOB_ID --reason TEXT [--tenant T]\n(SIGNOFF_URL, SIGNOFF_TOKEN)',
  );
  return 2;
};

/**
 * `jobs unknown [--tenant T] [--json]` (admin or auditor token): the jobs whose outcome is UNKNOWN,
 * oldest first (`GET /api/v1/jobs?state=UNKNOWN`); `jobs resolve JOB_ID --outcome succeeded|failed
 * --reason TEXT [--tenant T]` (admin token): the operator's decision, recorded as
 * JobOutcomeResolved with who and why. Job ids are scoped by tenant: without `--tenant` the API
 * takes the token's only tenant, else `default`.
 */
const jobs: Command = async (args, io) => {
  const outcome = flag(args, 'outcome');
  const reason = flag(args, 'reason');
  const tenant = flag(args, 'tenant');
  const json = boolFlag(args, 'json');
  const [sub, jobId] = args;
  switch (sub) {
    case 'unknown': {
      const answer = await api(io, 'GET', `/jobs?state=UNKNOWN${tenant ? `&tenant=${encodeURIComponent(tenant)}` : ''}`);
      if (json || answer.status !== 200) return printApi(io, answer);
      const { items, truncated } = answer.json as { items: Array<Record<string, unknown>>; truncated: boolean };
      for (const item of items) {
        io.out(`${String(item.job_id)}\ttenant ${String(item.tenant)}\tunknown since ${String(item.unknown_since)}\ttopic ${String(item.topic)}\t${String(item.unknown_reason)}`);
      }
      io.err(`${items.length} job(s) with an unknown outcome${truncated ? ' (more not shown)' : ''}; resolve one with: jobs resolve JOB_ID --tenant T --outcome succeeded|failed --reason TEXT`);
      return 0;
    }
    case 'resolve':
      if (!jobId || (outcome !== 'succeeded' && outcome !== 'failed') || !reason) break;
      return printApi(io, await api(io, 'POST', `/jobs/${encodeURIComponent(jobId)}/resolve${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`, { outcome, reason }));
  }
  io.err(
    'usage: jobs unknown [--tenant T] [--json] | jobs resolve JOB_ID --outcome succeeded|failed --reason TEXT [--tenant T]\n(SIGNOFF_URL, SIGNOFF_TOKEN of an admin; an auditor may list)',
  );
  return 2;
};

/** The event store the CLI reads: --url, EVENT_STORE_URL, .signoff/infra.env, or the standalone's PGlite. */
function storeUrl(args: string[], io: Io): string {
  return flag(args, 'url') ?? io.env.EVENT_STORE_URL ?? readEnvFile(path.join(io.cwd, '.signoff', 'infra.env')).EVENT_STORE_URL ?? 'pglite://./.signoff/data';
}

/**
 * `audit export [--since ISO] [--until ISO] [--actor A] [--tenant T] [--topic GLOB] [--decision D]
 * [--out FILE] [--url EVENT_STORE_URL]`: the domain events from the event store as NDJSON
 * CloudEvents (the same form as `signoff.audit`, with AUDIT_REDACT_FIELDS and the rules' `redact`
 * redacted), in log order, with the filters of `GET /api/v1/audit/events` (`--from`/`--to` are
 * `--since`/`--until`). The last line is the newest signed tree head of the audit log when the store
 * keeps one (a CloudEvent of type `signoff.audit.tree_head`): every exported event up to its
 * `tree_size` is provable with it. PGlite is single-process: stop `npm start` first.
 */
const auditExport: Command = async (args, io) => {
  if (boolFlag(args, 'verifiable')) return auditExportVerifiable(args, io);
  const raw = {
    from: flag(args, 'since') ?? flag(args, 'from'),
    to: flag(args, 'until') ?? flag(args, 'to'),
    actor: flag(args, 'actor'),
    tenant: flag(args, 'tenant'),
    topic: flag(args, 'topic'),
    decision: flag(args, 'decision'),
  };
  const outFile = flag(args, 'out');
  const url = storeUrl(args, io);
  const usage = 'usage: audit export [--since 2026-01-01T00:00:00Z] [--until ISO] [--actor A] [--tenant T] [--topic GLOB] [--decision D] [--out FILE] [--url EVENT_STORE_URL] | audit export --verifiable [--out FILE]';
  let filter: AuditFilter;
  try {
    filter = parseAuditFilter(raw);
  } catch (error) {
    io.err(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (args.length > 0) {
    io.err(usage);
    return 2;
  }
  const redact = parseRedactionList(io.env.AUDIT_REDACT_FIELDS);
  const store = await createEventStore(url);
  const redactions = new RuleRedactions(store, redact);
  const topics = new Map<string, string | null>();
  const topicOf = async (stream: string): Promise<string | null> => {
    if (!topics.has(stream)) {
      const [first] = await store.readStream<SignoffEvent>(stream, { maxCount: 1 });
      topics.set(stream, first?.type === 'JobSubmitted' ? first.data.request.topic : null);
    }
    return topics.get(stream)!;
  };
  const out = outFile ? fs.createWriteStream(path.resolve(io.cwd, outFile)) : null;
  const write = (line: string) => (out ? out.write(line + '\n') : io.out(line));
  let count = 0;
  let head = null;
  try {
    const reader = store.readFromStart<SignoffEvent>({ batchSize: 1000, filter: { eventTypes: [...AUDIT_EVENT_TYPES] } });
    for (;;) {
      const page = await reader.next();
      for (const event of page) {
        if (!(await matchesAuditFilter(filter, event, topicOf))) continue;
        write(JSON.stringify(toCloudEvent(event, await redactions.pathsFor(event))));
        count += 1;
      }
      if (page.length < 1000) break;
    }
    const tree = auditTreeStoreOf(store);
    if (tree) {
      await tree.migrate();
      head = await tree.latestHead();
    }
    if (head) {
      write(
        JSON.stringify({
          specversion: '1.0',
          id: `tree-head-${head.tree_size}`,
          source: '/signoff/audit',
          type: 'signoff.audit.tree_head',
          time: new Date(head.timestamp).toISOString(),
          datacontenttype: 'application/json',
          data: head,
        }),
      );
    }
  } finally {
    await store.close();
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
  io.err(`exported ${count} events${head ? ` and the tree head of size ${head.tree_size}` : ''}${outFile ? ` to ${outFile}` : ''}`);
  return 0;
};

/**
 * `audit export --verifiable [--out FILE] [--url EVENT_STORE_URL]`: the raw log for `audit verify`:
 * every event unredacted (the leaves hash the events as stored), the audit tree's leaf records and
 * every signed tree head, as NDJSON. It holds payloads: keep it where the event store is kept.
 */
async function auditExportVerifiable(args: string[], io: Io): Promise<number> {
  const outFile = flag(args, 'out');
  const url = storeUrl(args, io);
  if (args.length > 0) {
    io.err('usage: audit export --verifiable [--out FILE] [--url EVENT_STORE_URL]');
    return 2;
  }
  const store = await createEventStore(url);
  try {
    const material = await readLogMaterial(store);
    const out = outFile ? fs.createWriteStream(path.resolve(io.cwd, outFile)) : null;
    for (const line of logExportLines(material, new Date())) {
      if (out) out.write(line + '\n');
      else io.out(line);
    }
    if (out) await new Promise<void>((resolve) => out.end(resolve));
    io.err(`exported ${material.entries.length} events, ${material.leaves.length} leaves, ${material.heads.length} signed tree heads${outFile ? ` to ${outFile}` : ''}`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `audit verify [--file EXPORT | --url EVENT_STORE_URL] --jwks FILE [--heads FILE]... [--all-inclusion] [--json]`:
 * recomputes the audit tree from the events (a verifiable export, or the store itself) and checks
 * every signed tree head (the store's, the export's and the ones the auditor kept: `--heads`)
 * against the public keys (`--jwks`, or SIGNOFF_GRANT_JWKS when it is a file). Exit 0: the log
 * reproduces every head; 1: findings (which entry was altered, removed, inserted or moved, and
 * where); 2: usage or unreadable input.
 */
const auditVerify: Command = async (args, io) => {
  const file = flag(args, 'file') ?? null;
  const jwks = flag(args, 'jwks') ?? io.env.SIGNOFF_GRANT_JWKS;
  const json = boolFlag(args, 'json');
  const allInclusion = boolFlag(args, 'all-inclusion');
  const headFiles: string[] = [];
  for (let head = flag(args, 'heads'); head !== undefined; head = flag(args, 'heads')) headFiles.push(head);
  const url = file ? null : storeUrl(args, io);
  if (!jwks || args.length > 0) {
    io.err('usage: audit verify [--file EXPORT | --url EVENT_STORE_URL] --jwks FILE [--heads FILE]... [--all-inclusion] [--json]');
    return 2;
  }
  let report;
  try {
    report = await verifyAuditLog({ url, file, jwks, headFiles, allInclusion }, io.cwd);
  } catch (error) {
    io.err(`audit verify: ${(error as Error).message}`);
    return 2;
  }
  if (json) io.out(JSON.stringify(report, null, 2));
  else for (const line of formatReport(report)) io.out(line);
  return report.ok ? 0 : 1;
};

/**
 * `receipt verify FILE --jwks FILE`: checks a decision receipt (`GET /jobs/:id/receipt`) offline:
 * its signature, the signed tree head it comes with, and the inclusion proof that puts the deciding
 * event at `log_index` of that tree. Exit 0 when all three hold, 1 otherwise, 2 on usage.
 */
const receiptVerify: Command = async (args, io) => {
  const jwks = flag(args, 'jwks') ?? io.env.SIGNOFF_GRANT_JWKS;
  const [file, ...rest] = args;
  if (!jwks || !file || rest.length > 0) {
    io.err('usage: receipt verify FILE --jwks FILE');
    return 2;
  }
  let receipt: DecisionReceipt;
  let keys;
  try {
    receipt = JSON.parse(fs.readFileSync(path.resolve(io.cwd, file), 'utf8')) as DecisionReceipt;
    keys = publicKeysOf(JSON.parse(fs.readFileSync(path.resolve(io.cwd, jwks), 'utf8')) as never);
  } catch (error) {
    io.err(`receipt verify: ${(error as Error).message}`);
    return 2;
  }
  const problems = checkReceipt(receipt, keys);
  if (problems.length > 0) {
    io.out(`INVALID: ${problems.join('; ')}`);
    return 1;
  }
  const r = receipt.receipt;
  io.out(`OK: ${r.decision} ${r.tenant}/${r.job_id} at ${r.decided_at}${r.approvers.length ? ` by ${r.approvers.join(', ')}` : ''} (job ${r.job_hash}, policy ${r.policy_snapshot}); event ${r.event_id} is leaf ${r.log_index} of the tree head of size ${receipt.inclusion.tree_size} signed by ${receipt.inclusion.tree_head.key_id}`);
  return 0;
};

/**
 * `replay --dry-run [--url EVENT_STORE_URL]`: the jobs the dispatch service's replay consumer would
 * replay (or abandon) now, from the event log, with DISPATCH_GRACE_MS, WORKER_ACK_TIMEOUT_MS,
 * WORKER_RUN_TIMEOUT_MS and DISPATCH_MAX_ATTEMPTS of
 * the environment. Writes nothing.
 */
const replay: Command = async (args, io) => {
  const dryRun = boolFlag(args, 'dry-run');
  const json = boolFlag(args, 'json');
  const url = storeUrl(args, io);
  if (!dryRun || args.length > 0) {
    io.err('usage: replay --dry-run [--json] [--url EVENT_STORE_URL]   (the replay itself runs inside the dispatch service)');
    return 2;
  }
  const config = parseConfig({ ...io.env, EVENT_STORE_URL: url });
  const store = await createEventStore(url);
  try {
    const candidates = await listReplayCandidates({
      store,
      graceMs: config.dispatchGraceMs,
      workerAckTimeoutMs: config.workerAckTimeoutMs,
      workerRunTimeoutMs: config.workerRunTimeoutMs,
      maxAttempts: config.dispatchMaxAttempts,
    });
    if (json) io.out(JSON.stringify(candidates, null, 2));
    else {
      for (const c of candidates) io.out(JSON.stringify(c));
      io.err(
        `${candidates.length} job(s) would be replayed or abandoned (grace ${config.dispatchGraceMs} ms, ` +
          `worker ack timeout ${config.workerAckTimeoutMs} ms, worker run timeout ${config.workerRunTimeoutMs} ms, ` +
          `max attempts ${config.dispatchMaxAttempts})`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
};

/**
 * `keys generate --out DIR [--force]`: a new Ed25519 key pair for the control plane. Writes
 * `DIR/signing-key.json` (the private JWK with its `kid`, mode 600: the dispatch service's
 * SIGNOFF_SIGNING_KEY_FILE) and `DIR/jwks.json` (the public JWK Set: the workers'
 * SIGNOFF_GRANT_JWKS). Never overwrites a key unless `--force`.
 */
const keysGenerate: Command = async (args, io) => {
  const out = flag(args, 'out');
  const force = boolFlag(args, 'force');
  if (!out || args.length > 0) {
    io.err('usage: keys generate --out DIR [--force]');
    return 2;
  }
  const dir = path.resolve(io.cwd, out);
  const privateFile = path.join(dir, 'signing-key.json');
  const publicFile = path.join(dir, 'jwks.json');
  if (!force && (fs.existsSync(privateFile) || fs.existsSync(publicFile))) {
    io.err(`${path.relative(io.cwd, privateFile)} or jwks.json exists already; pass --force to replace it (rotate instead: see apps/dispatch-service/README.md)`);
    return 1;
  }
  const pair = generateSigningKey();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(privateFile, JSON.stringify(pair.privateJwk, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(privateFile, 0o600);
  fs.writeFileSync(publicFile, JSON.stringify(pair.publicJwks, null, 2) + '\n');
  io.out(`key id ${pair.kid}`);
  io.out(`  private: ${path.relative(io.cwd, privateFile)}   (dispatch service: SIGNOFF_SIGNING_KEY_FILE; keep it secret)`);
  io.out(`  public:  ${path.relative(io.cwd, publicFile)}   (workers: SIGNOFF_GRANT_JWKS, or the dispatch service's /.well-known/jwks.json)`);
  return 0;
};

/** `keys jwks --key FILE [--kid ID]`: the public JWK Set of a private key file (a JWK, a JWK Set or a PEM). */
const keysJwks: Command = async (args, io) => {
  const file = flag(args, 'key');
  const kid = flag(args, 'kid');
  if (!file || args.length > 0) {
    io.err('usage: keys jwks --key FILE [--kid ID]');
    return 2;
  }
  try {
    io.out(JSON.stringify(SigningKeySet.fromFile(path.resolve(io.cwd, file), kid ?? null).publicJwks(), null, 2));
    return 0;
  } catch (error) {
    if (!(error instanceof KeyConfigError)) throw error;
    io.err(error.message);
    return 1;
  }
};

export const COMMANDS: Record<string, Record<string, Command> | Command> = {
  keys: { generate: keysGenerate, jwks: keysJwks },
  audit: { export: auditExport, verify: auditVerify },
  receipt: { verify: receiptVerify },
  replay,
  policy: { validate: policyValidate, test: policyTest, diff: policyDiff, activate: policyActivate },
  token,
  approvals,
  jobs,
};

/** Runs one CLI invocation; returns the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [group, ...rest] = argv;
  const entry = group ? COMMANDS[group] : undefined;
  if (!entry) {
    io.err(
      [
        'usage: npm run cli -- <command>',
        '  policy validate FILE...            check bundles; errors as file:line:column',
        '  policy test [FILE.test.yaml...]    run policy tests (default: all under policies/)',
        '  policy diff A B [--tests FILE]     rules changed and test jobs whose decision changes',
        '  policy activate FILE               validate, then PUT /api/v1/policy (SIGNOFF_URL, SIGNOFF_TOKEN)',
        '  token --sub NAME --roles a,b       mint a development token (AUTH_JWT_SECRET or the standalone secret)',
        '  keys generate --out DIR            a new Ed25519 signing key (signing-key.json) and its public jwks.json',
        '  keys jwks --key FILE               the public JWK Set of a private key file',
        '  approvals list|show|approve|reject reviewer actions over HTTP (--tenant T; SIGNOFF_URL, SIGNOFF_TOKEN)',
        '  jobs unknown [--tenant T]          jobs whose outcome is UNKNOWN (a lease lost mid-effect), for an operator',
        '  jobs resolve ID --outcome O --reason TEXT [--tenant T]   the operator\'s decision (succeeded|failed) on an UNKNOWN job',
        '  audit export [--since ISO]         every decision as NDJSON CloudEvents from the event store (--verifiable: the raw log for audit verify)',
        '  audit verify --jwks FILE [--file EXPORT] [--heads FILE]   recompute the audit tree, check every signed tree head; exit 1 names what changed',
        '  receipt verify FILE --jwks FILE    check a decision receipt offline (signature, tree head, inclusion)',
        '  replay --dry-run                   jobs the replay consumer would republish now (writes nothing)',
      ].join('\n'),
    );
    return 2;
  }
  if (typeof entry === 'function') return entry(rest, io);
  const [name, ...args] = rest;
  const command = name ? entry[name] : undefined;
  if (!command) {
    io.err(`usage: ${group} ${Object.keys(entry).join('|')} …`);
    return 2;
  }
  return command(args, io);
}
