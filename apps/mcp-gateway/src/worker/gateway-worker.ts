import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { escapeUnsafeText, isMcpToolCall } from '@signoff/contracts';
import type { KeySetSource, VerificationKeySet } from '@signoff/keys';
import type { MessageBus } from '@signoff/messaging';
import { createWorker, DispatchedJob, SqlQueryable, Worker, WorkerToken } from '@signoff/worker-sdk';
import type { Registry } from 'prom-client';
import { argsHash } from '../call/tool-arguments';
import { SERVER_LABEL, TOOL_LABEL } from '../tools/tool-mapping';
import type { ToolCatalog } from '../tools/tool-catalog';
import type { UpstreamLog, UpstreamPool } from '../upstream/upstream-pool';
import type { LocalOutcomes } from './local-outcomes';
import { recordableResult } from './recorded-result';

/** The longest error text recorded on a job for a tool error. */
const MAX_ERROR_TEXT = 2000;

/** A tool call whose upstream answered `isError: true`: recorded as the job's failure (the text of its content). */
export class ToolFailedError extends Error {
  override readonly name = 'ToolFailedError';
}

/** Whether a dispatched job is one of the gateway's: it names an upstream server and tool in its labels. */
export function isGatewayJob(job: DispatchedJob): boolean {
  return isMcpToolCall(job);
}

/** The text of a tool error result, bounded. */
export function toolErrorText(result: CallToolResult): string {
  const text = (result.content ?? [])
    .map((c) => (c.type === 'text' ? c.text : `[${c.type}]`))
    .join('\n')
    .trim();
  return (text || 'the tool answered isError without a message').slice(0, MAX_ERROR_TEXT);
}

export interface GatewayWorkerOptions {
  readonly bus?: MessageBus;
  readonly brokers?: readonly string[];
  readonly topicPrefix: string;
  readonly groupId: string;
  readonly workerId: string;
  readonly databaseUrl?: string;
  readonly db?: SqlQueryable;
  readonly grantKeys: KeySetSource | VerificationKeySet;
  readonly workerToken: WorkerToken;
  readonly leaseMs: number;
  readonly registry?: Registry;
  readonly pool: UpstreamPool;
  readonly catalog: ToolCatalog;
  readonly outcomes: LocalOutcomes;
  readonly log: UpstreamLog;
}

/**
 * The gateway's worker: the upstream tool call is the side effect of the job, run through the
 * worker SDK (a signed grant verified, the job hash recomputed, the idempotency key claimed in
 * the shared claim table before the call), so one approval calls the tool once across every
 * gateway instance, every client retry and every redelivery; the outcome is reported on the
 * results topic and recorded on the job. The mode is external (not idempotent): a gateway that
 * dies while the upstream call is under way leaves the job UNKNOWN for an operator, never called
 * twice.
 *
 * Before calling, the job's topic must be the one the gateway maps the labelled tool to: the
 * policy decided on the topic, so a job submitted some other way that labels a tool it was not
 * evaluated for fails and calls nothing.
 */
export function startGatewayWorker(options: GatewayWorkerOptions): Promise<Worker> {
  return createWorker({
    ...(options.bus ? { bus: options.bus } : { brokers: options.brokers }),
    topicPrefix: options.topicPrefix,
    groupId: options.groupId,
    workerId: options.workerId,
    ...(options.db ? { db: options.db } : { databaseUrl: options.databaseUrl }),
    grantKeys: options.grantKeys,
    workerToken: options.workerToken,
    leaseMs: options.leaseMs,
    registry: options.registry,
    accepts: isGatewayJob,
    log: (level, message, fields) => options.log(level, message, fields),
    handler: async (job, { signal }) => {
      const server = job.labels[SERVER_LABEL];
      const toolName = job.labels[TOOL_LABEL];
      const fail = (text: string) => {
        // Recorded on the job: no NUL or lone surrogate may reach the store (the report would be refused).
        const error = escapeUnsafeText(text);
        options.outcomes.publish(job.tenant, job.job_id, { ok: false, error });
        return new ToolFailedError(error);
      };
      const tool = await options.catalog.byUpstreamName(server, toolName);
      if (!tool) throw fail(`upstream ${server} has no tool ${toolName} the gateway exposes`);
      if (tool.topic !== job.topic) throw fail(`the job's topic ${job.topic} is not the topic of ${server} ${toolName} (${tool.topic}): not called`);
      const args = job.payload !== null && typeof job.payload === 'object' && !Array.isArray(job.payload) ? (job.payload as Record<string, unknown>) : {};
      let result: CallToolResult;
      try {
        result = await options.pool.callTool(server, toolName, args, signal);
      } catch (error) {
        throw fail(`the upstream call failed: ${(error as Error).message}`.slice(0, MAX_ERROR_TEXT));
      }
      if (result.isError) throw fail(toolErrorText(result));
      options.outcomes.publish(job.tenant, job.job_id, { ok: true, result, args_hash: argsHash(args) });
      return recordableResult(result);
    },
  });
}
