import { Observable, Subscriber, Subscription } from 'rxjs';

/**
 * Subscribes to `source` now and hands what it emits, in order, to the one later subscriber of
 * the returned observable (what arrived in between first). For a transport that subscribes itself
 * only after the handler returns (Nest's gRPC server) but must tell the client the stream is live
 * before: nothing emitted after this call is lost. Unsubscribing the result unsubscribes `source`.
 */
export function liveNow<T>(source: Observable<T>): Observable<T> {
  const pending: { kind: 'next'; value: T }[] = [];
  let ended: { kind: 'error'; error: unknown } | { kind: 'complete' } | null = null;
  let target: Subscriber<T> | null = null;
  const upstream: Subscription = source.subscribe({
    next: (value) => (target ? target.next(value) : pending.push({ kind: 'next', value })),
    error: (error: unknown) => (target ? target.error(error) : (ended = { kind: 'error', error })),
    complete: () => (target ? target.complete() : (ended = { kind: 'complete' })),
  });
  return new Observable<T>((subscriber) => {
    if (target) {
      subscriber.error(new Error('liveNow: one subscriber only'));
      return;
    }
    target = subscriber;
    for (const { value } of pending.splice(0)) subscriber.next(value);
    const end = ended as typeof ended;
    if (end?.kind === 'error') subscriber.error(end.error);
    else if (end?.kind === 'complete') subscriber.complete();
    return () => upstream.unsubscribe();
  });
}
