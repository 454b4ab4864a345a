import { describe, expect, it, vi } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as { prototype: { scheduleCheckPendingRequests(this: unknown): void } };

/** A request queue's state as kafkajs keeps it: not throttled (`throttledUntil` -1), nothing scheduled. */
const idleQueue = () => ({ throttledUntil: -1, throttleCheckTimeoutId: null as NodeJS.Timeout | null, pending: [] as unknown[], checkPendingRequests: vi.fn() });

async function warningsOf(run: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (warning: Error) => seen.push(warning.name);
  process.on('warning', listener);
  try {
    run();
    await new Promise((r) => setTimeout(r, 30));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

describe("kafkajs's negative throttle-check delay", () => {
  it('kafkajs alone asks Node for a negative timeout (the warning this patch removes)', async () => {
    const original = RequestQueue.prototype.scheduleCheckPendingRequests;
    const queue = idleQueue();
    const warnings = await warningsOf(() => original.call(queue));
    expect(queue.checkPendingRequests).toHaveBeenCalledOnce();
    // (Unless a file run earlier in this process loaded the Kafka adapter, which patched it.)
    const patched = (original as { signoffPatched?: true }).signoffPatched === true;
    if (!patched && Number(process.versions.node.split('.')[0]) >= 23) expect(warnings).toContain('TimeoutNegativeWarning');
  });

  it('patched: the same check, at once, with no warning; a throttled queue still waits for its throttle', async () => {
    const { patchKafkaJsNegativeTimeout } = await import('./kafkajs-timeout.patch');
    patchKafkaJsNegativeTimeout();
    patchKafkaJsNegativeTimeout(); // idempotent
    const queue = idleQueue();
    const warnings = await warningsOf(() => RequestQueue.prototype.scheduleCheckPendingRequests.call(queue));
    expect(warnings).toEqual([]);
    expect(queue.checkPendingRequests).toHaveBeenCalledOnce();

    const throttled = { ...idleQueue(), throttledUntil: Date.now() + 200, pending: [{}] };
    RequestQueue.prototype.scheduleCheckPendingRequests.call(throttled);
    await new Promise((r) => setTimeout(r, 50));
    expect(throttled.checkPendingRequests).not.toHaveBeenCalled();
    await new Promise((r) => setTimeout(r, 250));
    expect(throttled.checkPendingRequests).toHaveBeenCalledOnce();
  });
});
