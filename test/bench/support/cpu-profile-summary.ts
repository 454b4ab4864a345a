/*
 * Sums a V8 .cpuprofile (node --cpu-prof, or a bench's BENCH_CPU_PROFILE) by self time per
 * function and per package, and total (inclusive) time of the functions whose name matches.
 *
 *   node -r ./tools/register.cjs test/bench/support/cpu-profile-summary.ts <file.cpuprofile> [requests] [name-regexp]
 *
 * With `requests` (how many requests the profile covers) every figure is also given as CPU-µs per
 * request. Packages: `node_modules/<pkg>`, `libs/<lib>`, `apps/<app>`, `node:` internals, or the
 * V8 pseudo-frames (`(garbage collector)`, `(idle)`, `(program)`).
 */
import fs from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const own = /\/(libs|apps|test)\/([^/]+)\//.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  if (url.startsWith('node:')) return 'node: internals';
  return url;
}

function main(): void {
  const [file, requestsArg, pattern] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile-summary <file.cpuprofile> [requests] [name-regexp]');
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const requests = requestsArg ? Number(requestsArg) : 0;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const fnSelf = new Map<string, number>();
  const pkgSelf = new Map<string, number>();
  const totals = new Map<string, number>();
  const matcher = pattern ? new RegExp(pattern) : null;
  let all = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    all += us;
    if (functionName === '(idle)') idle += us;
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|libs|apps)\//, '$1/')}:${lineNumber + 1}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const pkg = packageOf(url, functionName);
    pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + us);
    if (matcher) {
      // Inclusive time: each matching function on the sample's stack, counted once per sample.
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const name = byId.get(at)!.callFrame.functionName;
        if (matcher.test(name) && !seen.has(name)) {
          seen.add(name);
          totals.set(name, (totals.get(name) ?? 0) + us);
        }
      }
    }
  }
  const busy = all - idle;
  const row = (label: string, us: number) =>
    `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / busy) * 100).toFixed(1).padStart(5)}%${requests ? ` ${(us / requests).toFixed(1).padStart(7)} µs/req` : ''}  ${label}`;
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  process.stdout.write(`profile ${(all / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${((busy / all) * 100).toFixed(0)}%)${requests ? `, ${(busy / requests).toFixed(0)} CPU-µs per request` : ''}\n`);
  process.stdout.write('\nself time by package (share of busy time):\n');
  for (const [k, v] of top(pkgSelf, 30)) if (k !== '(idle)') process.stdout.write(`${row(k, v)}\n`);
  process.stdout.write('\nself time by function:\n');
  for (const [k, v] of top(fnSelf, 45)) if (!k.startsWith('(idle)')) process.stdout.write(`${row(k, v)}\n`);
  if (matcher) {
    process.stdout.write(`\ntotal (inclusive) time of functions matching /${pattern}/:\n`);
    for (const [k, v] of top(totals, 40)) process.stdout.write(`${row(k, v)}\n`);
  }
}

main();
