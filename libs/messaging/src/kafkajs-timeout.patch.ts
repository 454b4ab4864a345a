/**
 * kafkajs 2.2.4 (its last release) schedules the check of its request queue with
 * `throttledUntil - Date.now()` while `throttledUntil` is -1 (not throttled): a negative delay,
 * which Node.js clamps to 1 ms and, since Node 23, reports as a `TimeoutNegativeWarning` on
 * every process that connects. This is the same method with the delay clamped where Node would
 * clamp it: the same behaviour, without the warning. Applied once, when the Kafka adapter loads.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RequestQueue = require('kafkajs/src/network/requestQueue') as {
  prototype: {
    throttledUntil: number;
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    pending: unknown[];
    checkPendingRequests(): void;
    scheduleCheckPendingRequests(): void;
  };
};

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL. */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

export function patchKafkaJsNegativeTimeout(): void {
  const proto = RequestQueue.prototype;
  if ((proto.scheduleCheckPendingRequests as { signoffPatched?: true }).signoffPatched) return;
  const scheduleCheckPendingRequests = function (this: typeof proto): void {
    let scheduleAt = this.throttledUntil - Date.now();
    if (!this.throttleCheckTimeoutId) {
      if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
      this.throttleCheckTimeoutId = setTimeout(() => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      }, Math.max(1, scheduleAt));
    }
  };
  proto.scheduleCheckPendingRequests = Object.assign(scheduleCheckPendingRequests, { signoffPatched: true as const });
}
