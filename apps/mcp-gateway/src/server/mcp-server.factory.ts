import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, Tool } from '@modelcontextprotocol/sdk/types.js';
import { defaultTenantOf, Principal } from '@signoff/runtime';
import type { CallToolHandler } from '../call/call-tool.handler';
import type { SignoffApi } from '../signoff/signoff-api.port';
import type { CatalogTool, ToolCatalog } from '../tools/tool-catalog';
import { SERVER_LABEL, TOOL_LABEL } from '../tools/tool-mapping';

export const GATEWAY_NAME = 'signoff-mcp-gateway';
export const GATEWAY_VERSION = '0.1.0';

/** What `tools/list` says of each tool in `_meta["signoff/policy"]`: the dry-run decision for a call with no arguments. */
export interface ToolPolicyMeta {
  readonly topic: string;
  /** `allow`, `deny`, `throttle`, `require_human`, or `unknown` when the dry run failed. */
  readonly decision: string;
  readonly rule_id: string | null;
  readonly requires_approval: boolean;
  /** Always true: rules may look at the arguments (`payload.*`), so a call's own evaluation decides. */
  readonly arguments_may_change_it: true;
}

const NOTE: Record<string, string> = {
  require_human: '[Signoff: needs human approval; the call waits for a reviewer]',
  deny: '[Signoff: denied by policy]',
  throttle: '[Signoff: rate limited]',
};

/** The upstream definition as this gateway exposes it: its name, a note in the description, the policy in `_meta`. */
export function exposedTool(tool: CatalogTool, policy: ToolPolicyMeta): Tool {
  const d = tool.definition;
  const note = NOTE[policy.decision];
  return {
    ...d,
    name: tool.name,
    title: d.title ?? d.name,
    description: [d.description, note].filter(Boolean).join(' '),
    _meta: { ...(d._meta ?? {}), 'signoff/policy': policy },
  };
}

/**
 * One MCP Server per request (the Streamable HTTP transport is stateless: any gateway instance
 * answers any request), for one authenticated client.
 */
export function createMcpServer(deps: { catalog: ToolCatalog; signoff: SignoffApi; calls: CallToolHandler }, client: { token: string; principal: Principal }): Server {
  const server = new Server({ name: GATEWAY_NAME, version: GATEWAY_VERSION }, { capabilities: { tools: { listChanged: false } } });
  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    const tools = await deps.catalog.all();
    const tenant = defaultTenantOf(client.principal);
    const listed = await Promise.all(
      tools.map(async (t) => {
        const run = await deps.signoff
          .evaluate(client.token, { topic: t.topic, tenant, labels: { [SERVER_LABEL]: t.server, [TOOL_LABEL]: t.tool }, payload: {} }, extra.signal)
          .catch(() => ({ decision: 'unknown', rule_id: null }));
        return exposedTool(t, { topic: t.topic, decision: run.decision, rule_id: run.rule_id, requires_approval: run.decision === 'require_human', arguments_may_change_it: true });
      }),
    );
    return { tools: listed };
  });
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const progressToken = request.params._meta?.progressToken;
    const progress =
      progressToken === undefined
        ? undefined
        : (n: number, message: string, meta: Record<string, unknown>) =>
            extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: n, message, _meta: meta } });
    const result = await deps.calls.handle(request.params.name, request.params.arguments, request.params._meta, { ...client, progress, signal: extra.signal });
    return result as never;
  });
  return server;
}
