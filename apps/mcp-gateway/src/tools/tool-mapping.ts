import { MCP_SERVER_LABEL, MCP_TOOL_LABEL, TOPIC_PATTERN } from '@signoff/contracts';
import { MCP_SERVER_NAME } from '@signoff/runtime';

/** SEP-986 tool names (the MCP SDK's validateToolName): what maps to a topic unchanged. */
export const SEP_TOOL_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Printable ASCII that is not SEP-986 (space, `/`, `:`, `@`, …): replaced by `_` in topics and exposed names. */
const SANITIZABLE = /[\x20-\x7e]/;
/** Separates the upstream server from the tool in the names the gateway exposes: `<server>__<tool>`. */
export const EXPOSED_SEPARATOR = '__';
/** The longest exposed name (SEP-986). */
export const MAX_EXPOSED_NAME = 128;
/** The label names carrying the upstream server and the tool's real name on the job (bound by the job hash). */
export const SERVER_LABEL = MCP_SERVER_LABEL;
export const TOOL_LABEL = MCP_TOOL_LABEL;

/** An upstream tool as the gateway exposes it and submits it. */
export interface MappedTool {
  readonly server: string;
  /** The upstream's own name: what the gateway calls. */
  readonly tool: string;
  /** What clients call: `<server>__<sanitized tool>`. */
  readonly name: string;
  /** The Signoff topic of its calls: `mcp.<server>.<sanitized tool>` unless the gateway file maps it. */
  readonly topic: string;
}

export type ToolRefusalCode = 'invalid_tool_name' | 'tool_name_collision' | 'invalid_topic';

/** An upstream tool the gateway refuses to expose (hostile or ambiguous name). */
export interface ToolRefusal {
  readonly server: string;
  /** The upstream's name, with anything unprintable escaped (safe to log). */
  readonly tool: string;
  readonly code: ToolRefusalCode;
  readonly reason: string;
}

/** A name shown in a message: non-printable and non-ASCII characters as \u escapes, cut at 200. */
export function showName(name: string): string {
  return name.slice(0, 200).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + (name.length > 200 ? '…' : '');
}

/**
 * The topic-safe form of an upstream tool name, or null when the name is refused: empty, longer
 * than 128 characters, or holding anything but printable ASCII (control characters, NUL, line
 * separators, non-ASCII look-alikes). SEP-986 names come back unchanged; other printable ASCII
 * (`/`, space, `:`) becomes `_`. A name that is only such characters is refused.
 */
export function sanitizeToolName(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) return null;
  if (SEP_TOOL_NAME.test(name)) return name;
  for (const c of name) if (!SANITIZABLE.test(c)) return null;
  const sanitized = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return /[A-Za-z0-9]/.test(sanitized) ? sanitized : null;
}

/**
 * Maps one upstream's tools to exposed names and topics (pure). Refused: names
 * {@link sanitizeToolName} refuses; names whose topic or exposed name collides with another
 * tool's of the same server, case-insensitively (both are refused: neither may borrow the other's
 * policy); topics the gateway file maps to something invalid; exposed names over 128 characters.
 * `overrides` maps an upstream tool name to its topic.
 */
export function mapTools(server: string, names: readonly string[], overrides: Readonly<Record<string, string>> = {}): { tools: MappedTool[]; refused: ToolRefusal[] } {
  if (!MCP_SERVER_NAME.test(server)) throw new Error(`invalid upstream server name ${showName(server)}`);
  const refused: ToolRefusal[] = [];
  const candidates: MappedTool[] = [];
  const seenExact = new Set<string>();
  for (const tool of names) {
    if (seenExact.has(tool)) {
      refused.push({ server, tool: showName(tool), code: 'tool_name_collision', reason: 'the upstream lists this name twice' });
      continue;
    }
    seenExact.add(tool);
    const safe = sanitizeToolName(tool);
    if (safe === null) {
      refused.push({ server, tool: showName(tool), code: 'invalid_tool_name', reason: 'tool names are 1-128 printable ASCII characters' });
      continue;
    }
    const name = `${server}${EXPOSED_SEPARATOR}${safe}`;
    if (name.length > MAX_EXPOSED_NAME) {
      refused.push({ server, tool: showName(tool), code: 'invalid_tool_name', reason: `the exposed name ${server}__<tool> would be longer than ${MAX_EXPOSED_NAME} characters` });
      continue;
    }
    const topic = Object.prototype.hasOwnProperty.call(overrides, tool) ? overrides[tool] : `mcp.${server}.${safe}`;
    if (!TOPIC_PATTERN.test(topic)) {
      refused.push({ server, tool: showName(tool), code: 'invalid_topic', reason: `topic ${showName(topic)} is not a valid topic` });
      continue;
    }
    candidates.push({ server, tool, name, topic });
  }
  // Two tools whose exposed names differ only by case or by sanitized characters (`a/b`, `a_b`, `A_B`) are ambiguous.
  const byName = new Map<string, MappedTool[]>();
  for (const c of candidates) {
    const key = c.name.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), c]);
  }
  const tools: MappedTool[] = [];
  for (const group of byName.values()) {
    if (group.length === 1) tools.push(group[0]);
    else
      for (const c of group)
        refused.push({ server, tool: showName(c.tool), code: 'tool_name_collision', reason: `${group.map((g) => showName(g.tool)).join(', ')} map to the same name ${c.name}` });
  }
  return { tools, refused };
}

/** The server part of an exposed name (`files__read` -> `files`), or null. */
export function serverOfExposedName(name: string): string | null {
  const i = name.indexOf(EXPOSED_SEPARATOR);
  if (i <= 0) return null;
  const server = name.slice(0, i);
  return MCP_SERVER_NAME.test(server) ? server : null;
}
