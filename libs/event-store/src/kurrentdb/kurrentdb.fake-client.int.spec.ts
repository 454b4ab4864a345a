import { createFakeKurrentDbClient } from '../testing/fake-kurrentdb.client';
import { describeEventStoreConformance } from '../testing/event-store.conformance';
import { KurrentDbEventStore } from './kurrentdb.event-store';

/**
 * The KurrentDB adapter's own logic (expectation mapping, $all paging with exclusive cursors,
 * client-side filters, checkpoint streams with compare-and-set, error mapping) under the same
 * conformance suite, over an in-memory stand-in for the client. Server semantics are only proven
 * by kurrentdb.event-store.int.spec.ts against a real server (KURRENTDB_URL).
 */
describeEventStoreConformance(
  'KurrentDB adapter over an in-memory client (adapter logic only)',
  async () => {
    const client = createFakeKurrentDbClient();
    return {
      // Reopening keeps the "server": a new store on the same client data, as after a restart.
      // A tiny page makes every $all read cross page boundaries.
      open: () => KurrentDbEventStore.fromClient(Object.create(client) as typeof client, { pageSize: 7 }),
      destroy: async () => undefined,
    };
  },
  { uniqueEventIds: false },
);
