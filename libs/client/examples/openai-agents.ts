// npm start (copy the export lines it prints), then: npx node -r ./tools/register.cjs libs/client/examples/openai-agents.ts
import { Agent, Runner, tool, Usage, type Model, type ModelRequest, type ModelResponse } from '@openai/agents';
import { SignoffClient } from '@signoff/client';
import { signoffForAgents } from '@signoff/client/openai-agents';
import { z } from 'zod';

const baseUrl = process.env.SIGNOFF_URL ?? 'http://127.0.0.1:8080';
const client = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_SUBMITTER_TOKEN! });
const reviewer = new SignoffClient({ baseUrl, token: process.env.SIGNOFF_REVIEWER_TOKEN! });

/** Any Model works (OpenAI's needs an API key); this one calls `pay` once, then answers. */
class ScriptedModel implements Model {
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const paid = Array.isArray(request.input) && request.input.some((item) => 'type' in item && item.type === 'function_call_result');
    return {
      usage: new Usage(),
      output: paid
        ? [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Paid.' }] }]
        : [{ type: 'function_call', callId: `call-${Date.now()}`, name: 'pay', arguments: JSON.stringify({ invoice: 'INV-42', amount: 120 }), status: 'completed' }],
    };
  }
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not used here');
  }
}

const signoff = signoffForAgents({ client, topic: () => 'finance.payment.execute', labels: { env: 'production' }, timeoutMs: 60_000 });
const agent = new Agent({
  name: 'payments',
  instructions: 'Pay invoices.',
  model: new ScriptedModel(),
  tools: [
    tool({
      name: 'pay',
      description: 'Pay an invoice',
      parameters: z.object({ invoice: z.string(), amount: z.number() }),
      needsApproval: signoff.needsApproval('pay'), // false only when the policy allows the call outright
      execute: async (args) => `paid ${args.invoice}`,
    }),
  ],
});

async function main(): Promise<void> {
  // For the demo, a reviewer approves whatever waits (in real life: the console, Slack, the CLI).
  const approveWhenAsked = setInterval(async () => {
    for (const item of (await reviewer.listApprovals({ topic: 'finance.payment.execute' })).items) {
      await reviewer.approve(item.job_id as string, { reason: 'ok' }).catch(() => undefined);
    }
  }, 500);
  // Runs, lets Signoff decide each interruption (RunState.approve / reject), resumes with the state.
  const result = await signoff.run(new Runner({ tracingDisabled: true }), agent, 'Pay invoice INV-42');
  clearInterval(approveWhenAsked);
  console.log(result.finalOutput); // Paid.
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
