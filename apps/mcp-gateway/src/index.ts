/**
 * What other apps may use of the MCP approval gateway (`@signoff/mcp-gateway`): starting it
 * in-process (the standalone does with SIGNOFF_MCP_GATEWAY), the job marker its worker takes,
 * and the pure mapping of tools to topics.
 */
export { startMcpGateway, type McpGateway, type McpGatewayOptions } from './mcp-gateway';
export { isGatewayJob } from './worker/gateway-worker';
export { mapTools, sanitizeToolName, SERVER_LABEL, TOOL_LABEL, type MappedTool, type ToolRefusal } from './tools/tool-mapping';
export { APPROVAL_REF_META } from './call/call-step';
export { argsHash } from './call/tool-arguments';
export { SignoffApi, SignoffCallError, type GatewayJobRequest, type GatewaySubmitAnswer, type GatewayDryRun } from './signoff/signoff-api.port';
