/**
 * `audit verify` and the verifiable log export (issue 14 §2): anyone with the control plane's
 * public keys recomputes the audit tree from the events and checks every signed tree head.
 */
import fs from 'node:fs';
import path from 'node:path';
import { logEntryOf, publicKeysOf, verifyLog, type LeafRecord, type LogEntry, type SignedTreeHead, type VerifyReport } from '@signoff/audit-proof';
import { auditTreeStoreOf, createEventStore, type EventStore } from '@signoff/event-store';

/** The first line of a verifiable export. */
export const LOG_EXPORT_KIND = 'signoff.audit-log';

/** What `audit verify` checks: the log's entries, the tree's leaf records, signed heads. */
export interface LogMaterial {
  readonly entries: LogEntry[];
  readonly leaves: LeafRecord[];
  readonly heads: SignedTreeHead[];
}

const PAGE = 5000;

/** Every event of the store in log order, the audit tree's leaf records and signed heads. */
export async function readLogMaterial(store: EventStore): Promise<LogMaterial> {
  const entries: LogEntry[] = [];
  const reader = store.readFromStart({ batchSize: PAGE });
  await reader.catchUp((event) => {
    entries.push(logEntryOf(event));
  });
  const tree = auditTreeStoreOf(store);
  const leaves: LeafRecord[] = [];
  const heads: SignedTreeHead[] = [];
  if (tree) {
    await tree.migrate();
    for (let page = await tree.readLeaves(0, PAGE); page.length > 0; page = await tree.readLeaves(leaves.length, PAGE)) {
      for (const { leaf_index, event_id, stream_id, leaf_hash } of page) leaves.push({ leaf_index, event_id, stream_id, leaf_hash });
      if (page.length < PAGE) break;
    }
    for (let page = await tree.readHeads(0, PAGE); page.length > 0; page = await tree.readHeads(heads.at(-1)!.tree_size + 1, PAGE)) {
      heads.push(...page);
      if (page.length < PAGE) break;
    }
  }
  return { entries, leaves, heads };
}

/** NDJSON lines of a verifiable export: a header, every entry, every leaf record, every signed head. */
export function* logExportLines(material: LogMaterial, exportedAt: Date): Generator<string> {
  yield JSON.stringify({ kind: LOG_EXPORT_KIND, version: 1, exported_at: exportedAt.toISOString(), entries: material.entries.length, tree_size: material.leaves.length });
  for (const entry of material.entries) yield JSON.stringify({ kind: 'entry', entry });
  for (const leaf of material.leaves) yield JSON.stringify({ kind: 'leaf', ...leaf });
  for (const head of material.heads) yield JSON.stringify({ kind: 'tree_head', ...head });
}

/** Reads a verifiable export (see {@link logExportLines}); throws with the line number on anything else. */
export function readLogExport(text: string): LogMaterial {
  const material: LogMaterial = { entries: [], leaves: [], heads: [] };
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: { kind?: unknown; entry?: LogEntry } & Record<string, unknown>;
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      throw new Error(`line ${i + 1}: not JSON`);
    }
    if (i === 0 && record.kind !== LOG_EXPORT_KIND) throw new Error(`line 1: not a verifiable audit export (run \`audit export --verifiable\`)`);
    const { kind, ...rest } = record;
    if (kind === 'entry' && record.entry) material.entries.push(record.entry);
    else if (kind === 'leaf') material.leaves.push(rest as unknown as LeafRecord);
    else if (kind === 'tree_head') material.heads.push(rest as unknown as SignedTreeHead);
    else if (i > 0) throw new Error(`line ${i + 1}: unknown record kind ${JSON.stringify(kind)}`);
  });
  return material;
}

/** Heads an auditor kept: a JSON head, a JSON array of heads, or NDJSON of heads. */
export function readHeadsFile(text: string): SignedTreeHead[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as SignedTreeHead[];
  return trimmed
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as SignedTreeHead & { tree_head?: SignedTreeHead })
    .map((h) => h.tree_head ?? h);
}

/** The report as lines an operator reads. */
export function formatReport(report: VerifyReport): string[] {
  const lines = [
    `audit log: ${report.entries} entries, ${report.heads} signed tree heads (largest: ${report.signed_size} entries), ${report.unsigned_entries} entries after the last signed head`,
  ];
  if (report.ok) {
    lines.push('OK: the log reproduces every signed tree head; consistency between heads and inclusion of every signed entry verified');
    if (report.heads === 0) lines.push('note: no signed tree head was found, so nothing is proven yet');
    return lines;
  }
  lines.push(`TAMPERED: ${report.findings.length} finding(s)`);
  for (const f of report.findings) {
    const where = [f.leaf_index !== undefined ? `leaf ${f.leaf_index}` : null, f.log_index !== undefined ? `log position ${f.log_index}` : null, f.tree_size !== undefined ? `tree size ${f.tree_size}` : null]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${f.kind.padEnd(19)} ${where ? `(${where}) ` : ''}${f.detail}`);
  }
  return lines;
}

export interface VerifyArgs {
  readonly url: string | null;
  readonly file: string | null;
  readonly jwks: string;
  readonly headFiles: readonly string[];
  /** Verify the inclusion proof of every signed entry (default: 10,000 spread over the log). */
  readonly allInclusion?: boolean;
}

/** Runs the verification; resolves with the report. */
export async function verifyAuditLog(args: VerifyArgs, cwd: string): Promise<VerifyReport> {
  const keys = publicKeysOf(JSON.parse(args.jwks.trim().startsWith('{') ? args.jwks : fs.readFileSync(path.resolve(cwd, args.jwks), 'utf8')) as never);
  if (keys.size === 0) throw new Error('the key set holds no Ed25519 public key with a kid');
  let material: LogMaterial;
  if (args.file) material = readLogExport(fs.readFileSync(path.resolve(cwd, args.file), 'utf8'));
  else {
    const store = await createEventStore(args.url!);
    try {
      material = await readLogMaterial(store);
    } finally {
      await store.close();
    }
  }
  const extra = args.headFiles.flatMap((file) => readHeadsFile(fs.readFileSync(path.resolve(cwd, file), 'utf8')));
  return verifyLog({ entries: material.entries, leaves: material.leaves, heads: [...material.heads, ...extra], keys, ...(args.allInclusion ? { checkInclusion: 'all' as const } : {}) });
}
