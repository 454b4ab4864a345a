import type { SlackConfig } from '@signoff/runtime';

/** How long a Web API call may take: Slack's trigger ids expire after 3 s anyway. */
export const SLACK_API_TIMEOUT_MS = 2500;
/** The most of a Web API answer that is read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A Slack Web API call that failed: `error` is Slack's code (`invalid_auth`, `expired_trigger_id`, ...) or the transport's. */
export class SlackApiError extends Error {
  constructor(readonly error: string) {
    super(`Slack Web API: ${error}`);
  }
}

/**
 * The one Slack Web API method Signoff calls: `views.open` (the reject modal), authenticated with
 * the configured bot token. Bounded: a timeout, no redirects followed, the answer read up to a cap.
 */
export class SlackWebApi {
  constructor(private readonly slack: Pick<SlackConfig, 'botToken' | 'apiUrl'>) {}

  get enabled(): boolean {
    return this.slack.botToken !== null;
  }

  async viewsOpen(triggerId: string, view: Record<string, unknown>): Promise<void> {
    if (this.slack.botToken === null) throw new SlackApiError('no_bot_token');
    let res: Response;
    try {
      res = await fetch(`${this.slack.apiUrl}/views.open`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.slack.botToken}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ trigger_id: triggerId, view }),
        redirect: 'manual',
        signal: AbortSignal.timeout(SLACK_API_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new SlackApiError((error as Error).name === 'TimeoutError' ? 'timeout' : (cause?.code ?? 'unreachable'));
    }
    const text = await readCapped(res, MAX_ANSWER_BYTES);
    if (res.status < 200 || res.status >= 300) throw new SlackApiError(`status_${res.status}`);
    let answer: { ok?: unknown; error?: unknown } | null = null;
    try {
      answer = JSON.parse(text) as { ok?: unknown; error?: unknown };
    } catch {
      answer = null;
    }
    if (answer?.ok !== true) throw new SlackApiError(typeof answer?.error === 'string' ? answer.error.slice(0, 100) : 'invalid_answer');
  }
}

/** The body of a response, up to `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        break;
      }
      chunks.push(value);
    }
  } catch {
    return '';
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Whether Signoff may POST to an interaction's `response_url`: https on hooks.slack.com, or the
 * host of the configured `api_url` (a test's fake Slack). Anything else a forged or foreign
 * interaction could name is never called.
 */
export function allowedResponseUrl(url: string, apiUrl: string): URL | null {
  let target: URL;
  let api: URL;
  try {
    target = new URL(url);
    api = new URL(apiUrl);
  } catch {
    return null;
  }
  if (target.username || target.password) return null;
  if (target.protocol === 'https:' && target.host === 'hooks.slack.com') return target;
  return target.protocol === api.protocol && target.host === api.host ? target : null;
}

/**
 * Replaces the original message through `response_url` once a decision closed it ("Approved by
 * alice"): bounded and timed out, redirects not followed, the answer not read. Best effort: the
 * decision is recorded whatever happens here; failures are returned for the log.
 */
export async function replaceOriginalMessage(url: URL, text: string): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text }),
      redirect: 'manual',
      signal: AbortSignal.timeout(SLACK_API_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? null : `status ${res.status}`;
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : ((error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message);
  }
}
