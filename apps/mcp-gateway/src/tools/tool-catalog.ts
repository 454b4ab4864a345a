import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpUpstreamConfig } from '@signoff/runtime';
import type { UpstreamLog, UpstreamPool } from '../upstream/upstream-pool';
import { MappedTool, mapTools, serverOfExposedName } from './tool-mapping';

/** An exposed tool: its mapping and the upstream's definition. */
export interface CatalogTool extends MappedTool {
  readonly definition: Tool;
}

/** How long a listing of one upstream is reused before it is read again. */
const LISTING_TTL_MS = 30_000;

/**
 * The tools the gateway exposes, read from the upstreams and mapped (tool-mapping.ts). A listing
 * is kept for 30 s; a call naming a tool the cached listing lacks reads the upstream again once.
 * An upstream that cannot be reached contributes no tools (and is logged), the others still do.
 */
export class ToolCatalog {
  private readonly listings = new Map<string, { at: number; tools: Map<string, CatalogTool> }>();

  constructor(
    private readonly pool: UpstreamPool,
    private readonly upstreams: readonly McpUpstreamConfig[],
    private readonly log: UpstreamLog,
  ) {}

  private async refresh(server: string): Promise<Map<string, CatalogTool>> {
    const config = this.upstreams.find((u) => u.name === server)!;
    const definitions = await this.pool.listTools(server);
    const { tools, refused } = mapTools(
      server,
      definitions.map((d) => d.name),
      config.topics,
    );
    for (const r of refused) this.log('warn', 'upstream tool refused', { upstream: server, tool: r.tool, code: r.code, reason: r.reason });
    const byUpstreamName = new Map(definitions.map((d) => [d.name, d]));
    const map = new Map<string, CatalogTool>(tools.map((t) => [t.name, { ...t, definition: byUpstreamName.get(t.tool)! }]));
    this.listings.set(server, { at: Date.now(), tools: map });
    return map;
  }

  private async listing(server: string, fresh = false): Promise<Map<string, CatalogTool>> {
    const cached = this.listings.get(server);
    if (!fresh && cached && Date.now() - cached.at < LISTING_TTL_MS) return cached.tools;
    return this.refresh(server);
  }

  /** Every exposed tool of every reachable upstream, in the gateway file's order. */
  async all(): Promise<CatalogTool[]> {
    const lists = await Promise.all(
      this.upstreams.map((u) =>
        this.listing(u.name).catch((error: unknown) => {
          this.log('error', 'upstream tools cannot be listed', { upstream: u.name, error: (error as Error).message });
          return new Map<string, CatalogTool>();
        }),
      ),
    );
    return lists.flatMap((m) => [...m.values()]);
  }

  /** The tool an exposed name names, or null (unknown server, unknown or refused tool). */
  async byName(name: string): Promise<CatalogTool | null> {
    const server = serverOfExposedName(name);
    if (server === null || !this.pool.has(server)) return null;
    const found = (await this.listing(server)).get(name);
    if (found) return found;
    return (await this.listing(server, true)).get(name) ?? null;
  }

  /** The tool of a dispatched job: its upstream name under `server` (the labels of the job). */
  async byUpstreamName(server: string, tool: string): Promise<CatalogTool | null> {
    if (!this.pool.has(server)) return null;
    const find = (m: Map<string, CatalogTool>) => [...m.values()].find((t) => t.tool === tool) ?? null;
    return find(await this.listing(server)) ?? find(await this.listing(server, true));
  }
}
