// npm start (copy the export lines it prints), then: npx node -r ./tools/register.cjs libs/client/examples/ai-sdk.ts
import { SignoffClient } from '@signoff/client';
import { signoffToolApproval } from '@signoff/client/ai-sdk';
import { generateText, isStepCount, tool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test'; // any model works; the AI SDK's mock needs no API key
import { z } from 'zod';

const baseUrl = process.env.SIGNOFF_URL ?? 'http://127.0.0.1:8080';
const client = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_SUBMITTER_TOKEN! });
const reviewer = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_REVIEWER_TOKEN! });

const usage = { inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 1, text: 1, reasoning: 0 } };
const toolCallId = `call-${Date.now()}`;
const model = new MockLanguageModelV4({
  doGenerate: [
    { content: [{ type: 'tool-call', toolCallId, toolName: 'pay', input: JSON.stringify({ invoice: 'INV-42', amount: 120 }) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] },
    { content: [{ type: 'text', text: 'Paid.' }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] },
  ],
});

async function main(): Promise<void> {
  // For the demo, a reviewer approves whatever waits (in real life: the console, Slack, the CLI).
  const approveWhenAsked = setInterval(async () => {
    for (const item of (await reviewer.listApprovals({ topic: 'finance.payment.execute' })).items) {
      await reviewer.approve(item.job_id as string, { reason: 'ok' }).catch(() => undefined);
    }
  }, 500);

  const result = await generateText({
    model,
    prompt: 'Pay invoice INV-42',
    stopWhen: isStepCount(2),
    tools: {
      pay: tool({
        description: 'Pay an invoice',
        inputSchema: z.object({ invoice: z.string(), amount: z.number() }),
        execute: async (args) => `paid ${args.invoice}`, // runs only once Signoff approved exactly these arguments
      }),
    },
    // every tool call becomes a job: topic and labels are what policies/default.yaml matches
    toolApproval: signoffToolApproval({ client, topic: () => 'finance.payment.execute', labels: { env: 'production' }, timeoutMs: 60_000 }),
  });
  clearInterval(approveWhenAsked);
  console.log(result.steps[0].toolResults.map((r) => r.output), result.text); // [ 'paid INV-42' ] Paid.
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
