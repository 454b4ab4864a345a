import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { liveNow } from './live-now';

describe('liveNow', () => {
  it('keeps what the source emits before the subscriber comes, then forwards; unsubscribing unsubscribes the source', () => {
    const source = new Subject<number>();
    const live = liveNow(source);
    expect(source.observed).toBe(true);
    source.next(1);
    source.next(2);
    const seen: number[] = [];
    const subscription = live.subscribe((n) => seen.push(n));
    source.next(3);
    expect(seen).toEqual([1, 2, 3]);
    subscription.unsubscribe();
    expect(source.observed).toBe(false);
  });

  it('passes a completion that came before the subscriber', () => {
    const source = new Subject<number>();
    const live = liveNow(source);
    source.next(1);
    source.complete();
    const seen: unknown[] = [];
    live.subscribe({ next: (n) => seen.push(n), complete: () => seen.push('done') });
    expect(seen).toEqual([1, 'done']);
  });
});
