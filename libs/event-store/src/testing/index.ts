/**
 * @signoff/event-store/testing: the conformance suite every EventStore adapter passes and the
 * in-memory stand-in for the KurrentDB client, for specs only (not in the production barrel).
 */
export { describeEventStoreConformance, type ConformanceOptions, type EventStoreTestTarget } from './event-store.conformance';
export { createFakeKurrentDbClient } from './fake-kurrentdb.client';
