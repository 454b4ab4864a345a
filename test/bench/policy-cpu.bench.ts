/*
 * Glob and regex costs (issue 10, section 4): what `matches` costs on RE2 (re2js) against V8's
 * backtracking RegExp for typical patterns, and the worst glob and the worst regex the server
 * accepts, at the longest value each may read.
 *
 *   node -r ./tools/register.cjs test/bench/policy-cpu.bench.ts
 *
 * Method: every pattern is compiled once; typical values are cycled through; throughput is tests
 * in a loop for 300 ms after a 100 ms warm-up. Worst cases: each candidate pattern (families that
 * defeat RE2's DFA and prefilter: `[ab]*a[ab]{k}c$`, `a[ab]{k}c`, `(?:(?:a|b)?){k}(?:a[ab]{k/4})c$`,
 * alternations of long classes) is tested on `c` + random a/b values of exactly its longest
 * readable length (MAX_MATCH_WORK / program size), 4 fresh values each, freshly compiled too;
 * the slowest single test is reported. Bounded: about 15 s.
 */
import { compileGlob } from '@signoff/contracts';
import { compilePolicyRegex, MAX_MATCH_WORK, type PolicyRegex } from '@signoff/policy-engine';

const TYPICAL: readonly { readonly pattern: string; readonly values: readonly string[] }[] = [
  { pattern: '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$', values: ['DE89370400440532013000', 'GB29NWBK60161331926819', 'not-an-iban', 'FR1420041010050500013M02606'] },
  { pattern: '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$', values: ['alice@example.com', 'bob.smith+tag@mail.example.org', 'not an email', 'x@y'] },
  { pattern: '(?i)password|secret|token|api[_-]?key', values: ['please rotate the API_KEY today', 'nothing to see here', 'the secret is out', 'a plain note of some length without any keyword in it'] },
  { pattern: '@example\\.com$', values: ['a@example.com', 'a@example.org', 'someone@sub.example.com', 'x'] },
];

function rate(test: (value: string) => boolean, values: readonly string[]): number {
  let sink = 0;
  const warm = performance.now() + 100;
  for (let i = 0; performance.now() < warm; i++) sink += test(values[i % values.length]) ? 1 : 0;
  let count = 0;
  const end = performance.now() + 300;
  for (let i = 0; performance.now() < end; ) {
    for (let k = 0; k < 64; k++, i++) sink += test(values[i % values.length]) ? 1 : 0;
    count += 64;
  }
  return (count / 300) * 1000 + sink * 0;
}

function timed(f: () => unknown): number {
  const started = performance.now();
  f();
  return performance.now() - started;
}

function abValue(length: number, seed: number): string {
  let state = seed;
  let out = 'c';
  for (let i = 1; i < length; i++) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    out += state & 1024 ? 'a' : 'b';
  }
  return out;
}

function regex(pattern: string): PolicyRegex {
  const compiled = compilePolicyRegex(pattern);
  if ('error' in compiled) throw new Error(`${pattern}: ${compiled.error}`);
  return compiled;
}

const fmt = (value: number, digits = 2): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function main(): void {
  const lines: string[] = ['### matches: RE2 (re2js) against V8 RegExp, typical patterns', '', '| Pattern | RE2 tests/s | V8 RegExp tests/s | RE2 ÷ V8 |', '|---|---:|---:|---:|'];
  for (const { pattern, values } of TYPICAL) {
    const ours = regex(pattern);
    const native = new RegExp(pattern.replace('(?i)', ''), pattern.startsWith('(?i)') ? 'i' : '');
    const re2 = rate((value) => ours.test(value), values);
    const v8 = rate((value) => native.test(value), values);
    lines.push(`| \`${pattern.replace(/\|/g, '\\|')}\` | ${fmt(re2, 0)} | ${fmt(v8, 0)} | ${fmt(re2 / v8)} |`);
  }

  lines.push('', '### The worst accepted globs and regexes, at the longest value each may read', '', '| Case | Value length | Time per test |', '|---|---:|---:|');
  const topic = 'a'.repeat(200);
  for (const [name, glob] of [
    ['reviewer glob, 12 stars (`*a` x 12 + `b`)', `${'*a'.repeat(12)}b`],
    ['reviewer glob, 99 stars (the 200-character limit of `?topic=`)', `${'*a'.repeat(99)}b*`],
  ] as const) {
    const compiled = compileGlob(glob, { star: 'within-line' });
    lines.push(`| ${name} on a 200-character topic | 200 | ${fmt((timed(() => { for (let i = 0; i < 10_000; i++) compiled.test(topic); }) / 10_000) * 1000, 3)} µs |`);
  }
  const long = 'a'.repeat(MAX_MATCH_WORK);
  for (const [name, glob] of [
    ['policy glob `*` + 999 a + `b*`', `*${'a'.repeat(999)}b*`],
    ['policy glob `*ab*`', '*ab*'],
  ] as const) {
    const compiled = compileGlob(glob);
    compiled.test(long);
    lines.push(`| ${name} | ${fmt(MAX_MATCH_WORK, 0)} | ${fmt(timed(() => compiled.test(long)), 2)} ms |`);
  }
  const stall = regex('^(.*a){8}$');
  lines.push(`| \`^(.*a){8}$\` (the 45 s stall on V8) on 57 characters | 57 | ${fmt((timed(() => { for (let i = 0; i < 1000; i++) stall.test(`${'a'.repeat(56)}b`); }) / 1000) * 1000, 1)} µs |`);
  lines.push(`| \`^(.*a){8}$\` at its bound | ${fmt(stall.maxInputLength, 0)} | ${fmt(timed(() => stall.test(`${'a'.repeat(stall.maxInputLength - 1)}b`)), 2)} ms |`);

  const families: ((k: number) => string)[] = [(k) => `[ab]*a[ab]{${k}}c$`, (k) => `a[ab]{${k}}c`, (k) => `(?:(?:a|b)?){${k}}(?:a[ab]{${k >> 2}})c$`, (k) => `(?:a[ab]{${k}}|b[ab]{${k + 1}}|[ab]{${k + 2}}a){4}c$`];
  let worst = { ms: 0, pattern: '', length: 0, programSize: 0 };
  for (const family of families) {
    for (const k of [16, 30, 60, 120, 240]) {
      const pattern = family(k);
      const probe = compilePolicyRegex(pattern);
      if ('error' in probe) continue;
      for (let seed = 1; seed <= 4; seed++) {
        const value = abValue(probe.maxInputLength, seed);
        const ms = Math.max(timed(() => regex(pattern).test(value)), timed(() => probe.test(value)));
        if (ms > worst.ms) worst = { ms, pattern, length: probe.maxInputLength, programSize: probe.programSize };
      }
    }
  }
  lines.push(`| worst regex found: \`${worst.pattern}\` (program size ${worst.programSize}) | ${fmt(worst.length, 0)} | ${fmt(worst.ms, 1)} ms |`);
  lines.push('', `A value longer than a condition may read (${fmt(MAX_MATCH_WORK, 0)} / program size characters for a regex, ${fmt(MAX_MATCH_WORK, 0)} for a glob) fails the evaluation closed; the evaluation budget (POLICY_EVALUATION_BUDGET_MS, 100 ms) cuts a bundle of many such conditions.`);
  process.stdout.write(lines.join('\n') + '\n');
}

main();
