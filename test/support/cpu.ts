/** Helpers of the "no request can take the CPU" tests (issue 10, section 4). */

/**
 * Runs `request` against a server at `baseUrl` and, 20 ms into it, GET /health/live: the answer
 * and how long each took (ms). A request that holds the server's event loop holds the liveness
 * probe too, so `liveMs` says whether anything else could be served meanwhile.
 */
export async function withLiveness<T>(baseUrl: string, request: () => Promise<T>): Promise<{ value: T; requestMs: number; liveMs: number; liveStatus: number }> {
  const started = performance.now();
  const pending = request().then((value) => ({ value, requestMs: performance.now() - started }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const liveStarted = performance.now();
  const live = await fetch(`${baseUrl}/health/live`);
  const liveMs = performance.now() - liveStarted;
  return { ...(await pending), liveMs, liveStatus: live.status };
}

/** A deterministic string of `a` and `b`, `length` long (a value RE2's DFA cannot shortcut). */
export function abString(length: number): string {
  let seed = 7;
  let out = '';
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out += seed & 1024 ? 'a' : 'b';
  }
  return out;
}

/** The reproduction of issue 10: 68 KB of YAML whose aliases expand to a 13.8 MB bundle. */
export function aliasBomb(): string {
  const rules = Array.from({ length: 230 }, (_, i) => `  - {id: r${i}, description: *d, decision: deny}`);
  return `version: v1\ndescription: &d "${'x'.repeat(60_000)}"\nrules:\n${rules.join('\n')}\n`;
}

/** The normalized bundle an older version stored in PolicyActivated for `aliasBomb()` (13.8 MB of JSON). */
export function storedAliasBomb(): { version: string; default: string; description: string; rules: object[] } {
  const big = 'x'.repeat(60_000);
  return { version: 'v1', default: 'deny', description: big, rules: Array.from({ length: 230 }, (_, i) => ({ id: `r${i}`, description: big, when: {}, decision: 'deny' })) };
}
