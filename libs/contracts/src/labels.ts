import { normalizeIdentity } from './ids';

/** Label name prefixes reserved for Signoff (DESIGN section 4): an approval can never be smuggled in. */
export const RESERVED_LABEL_PREFIXES = ['approval_', 'signoff.'] as const;

/**
 * A name as a comparison key: the one identity normalisation of the project
 * ({@link normalizeIdentity}: NFKC, default-ignorable characters removed, case-folded, NFKC again,
 * an approximation of Unicode's NFKC_Casefold). Two names with the same key read the same.
 */
export function nameComparisonKey(name: string): string {
  return normalizeIdentity(name);
}

/**
 * Whether a label name is reserved (`approval_*`, `signoff.*`), whatever its case or Unicode form:
 * `Approval_granted`, `SIGNOFF.x` and full-width `ａｐｐｒｏｖａｌ_x` are all reserved.
 */
export function isReservedLabel(name: string): boolean {
  const key = nameComparisonKey(name);
  return RESERVED_LABEL_PREFIXES.some((prefix) => key.startsWith(prefix));
}

/** The labels the MCP gateway (apps/mcp-gateway) sets on the job of a tool call: the upstream server and the tool's own name (bound by the job hash). */
export const MCP_SERVER_LABEL = 'mcp.server';
export const MCP_TOOL_LABEL = 'mcp.tool';

/**
 * Whether a job is an MCP tool call: the MCP gateway's worker runs it (the upstream call is its
 * side effect); every other worker leaves it alone (`accepts`), or the call would be "run" twice.
 */
export function isMcpToolCall(job: { readonly labels?: Readonly<Record<string, string>> | null }): boolean {
  return typeof job.labels?.[MCP_SERVER_LABEL] === 'string' && typeof job.labels?.[MCP_TOOL_LABEL] === 'string';
}
