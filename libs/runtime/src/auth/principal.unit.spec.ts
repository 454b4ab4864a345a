import { describe, expect, it } from 'vitest';
import { canDecideTopic, Principal, TOPIC_GLOB_CACHE_SIZE, topicGlob } from './principal';

const reviewer = (topics: string[]): Principal => ({ sub: 'rita', roles: new Set(['reviewer']), topics, tenants: null });

describe('reviewer topic globs', () => {
  it('match topics as before: * is any run of characters, dots included, everything else literal', () => {
    const p = reviewer(['finance.*', '*.notify', 'infra.change']);
    expect(canDecideTopic(p, 'finance.payment.execute')).toBe(true);
    expect(canDecideTopic(p, 'customer.notify')).toBe(true);
    expect(canDecideTopic(p, 'infra.change')).toBe(true);
    expect(canDecideTopic(p, 'infraXchange')).toBe(false);
    expect(canDecideTopic(p, 'finance')).toBe(false);
    // As the `.*` RegExp did: a star does not cross a line break (topics never hold one).
    expect(canDecideTopic(p, 'finance.\n')).toBe(false);
  });

  it('decide a 12-star glob in linear time (the backtracking RegExp took about 1 s per 32-character topic)', () => {
    const p = reviewer([`${'*a'.repeat(12)}b`]);
    const started = performance.now();
    for (let i = 0; i < 10; i++) expect(canDecideTopic(p, 'a'.repeat(32 + (i % 2)))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('keep at most TOPIC_GLOB_CACHE_SIZE compiled globs, dropping the oldest first', () => {
    const first = topicGlob('first.*');
    expect(topicGlob('first.*')).toBe(first);
    for (let i = 0; i < TOPIC_GLOB_CACHE_SIZE; i++) topicGlob(`flood.${i}.*`);
    // Evicted: compiled again (a new object), and still right.
    const again = topicGlob('first.*');
    expect(again).not.toBe(first);
    expect(again.test('first.x')).toBe(true);
    // The most recent ones are still cached.
    expect(topicGlob(`flood.${TOPIC_GLOB_CACHE_SIZE - 1}.*`)).toBe(topicGlob(`flood.${TOPIC_GLOB_CACHE_SIZE - 1}.*`));
  });
});
