import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/** One request a {@link startWebhookReceiver} got. */
export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Date.now() when it arrived. */
  readonly at: number;
}

/** How the receiver answers a request: a status, a status with headers, or null (never answer: a hung endpoint). */
export type ReceiverAnswer = number | { readonly status: number; readonly headers: Record<string, string> } | null;

export interface WebhookReceiver {
  readonly url: string;
  /** Every request, in order of arrival. */
  readonly received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 recording every request; `answer` decides the response (default 204). */
export async function startWebhookReceiver(answer: (request: ReceivedWebhook) => ReceiverAnswer = () => 204): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request: ReceivedWebhook = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      received.push(request);
      const answered = answer(request);
      if (answered === null) return;
      if (typeof answered === 'number') res.statusCode = answered;
      else {
        res.statusCode = answered.status;
        for (const [name, value] of Object.entries(answered.headers)) res.setHeader(name, value);
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A SIGNOFF_WEBHOOKS_FILE in a temporary folder listing `endpoints`. */
export function writeWebhooksFile(endpoints: unknown[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signoff-webhooks-'));
  const file = path.join(dir, 'webhooks.json');
  fs.writeFileSync(file, JSON.stringify({ endpoints }));
  return file;
}
