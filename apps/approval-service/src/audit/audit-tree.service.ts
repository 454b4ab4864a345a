import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { hashFromHex, leafHashOf, logEntryOf, MerkleTree, toHex, treeHeadBytes, type SignedTreeHead } from '@signoff/audit-proof';
import { fromJobStreamId } from '@signoff/contracts';
import { Clock } from '@signoff/core';
import { AuditTreeDivergedError, auditTreeStoreOf, EventStore, type AuditLeaf, type AuditTreeStore, type RecordedEvent } from '@signoff/event-store';
import { SigningKeySet } from '@signoff/keys';
import { SignoffMetrics } from '@signoff/observability';

/** What the audit tree needs from its composition root. */
export interface AuditTreeOptions {
  /** The control plane's key set; heads are signed with its current key. */
  readonly keys: SigningKeySet;
  /** How often a head is signed when the tree has grown (AUDIT_TREE_HEAD_INTERVAL_MS). */
  readonly headIntervalMs: number;
  /** How often the log is read once caught up (AUDIT_TREE_POLL_MS). */
  readonly pollIntervalMs: number;
  /** Events per read and per stored batch of leaves (default 1000). */
  readonly batchSize?: number;
}
export const AUDIT_TREE_OPTIONS = Symbol('AUDIT_TREE_OPTIONS');

/** The lag is counted up to this many events (a count beyond would cost more than it tells). */
const LAG_CAP = 1_000_000;
const LAG_EVERY_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/** A read of the log queued behind the one in flight; `startedAt` (performance.now()) once it runs. */
interface QueuedStep {
  readonly promise: Promise<number>;
  startedAt: number | null;
}

/** What `loggedAllAsOfNow` found: the tree holds everything the log held; it is still building; it cannot read. */
export type TreeCatchUp = 'caught_up' | 'behind' | 'stalled';

/** Where the last leaf's event is, so the next read starts after it. */
interface LastLeaf {
  readonly position: bigint;
  readonly streamId: string;
  readonly eventId: string;
}

/**
 * The audit Merkle tree over the global log (issue 14). It trails the log, never sits in the append
 * path: a loop reads the log after the last leaf (`readAll` from that event's position, the one
 * global order), hashes each event (RFC 9162 leaf of its canonical JSON), stores the new leaves in
 * one statement (the leaves are the checkpoint: a restart resumes after the last stored leaf, and a
 * batch stored twice is accepted as a repeat), then extends the tree in memory (64 bytes a leaf).
 * Every instance builds the same tree (the log order is the same for every reader), so several
 * instances agree leaf by leaf; a stored leaf that differs means the log changed under the tree,
 * and the tree stops (signoff_audit_tree_stalled) rather than sign something else.
 * Heads are signed every `headIntervalMs` when the tree grew, and on demand.
 */
@Injectable()
export class AuditTree implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuditTree');
  private readonly storage: AuditTreeStore | null;
  private readonly tree = new MerkleTree();
  private last: LastLeaf | null = null;
  private latest: SignedTreeHead | null = null;
  private loaded: Promise<void> | null = null;
  private stopping = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private headTimer: NodeJS.Timeout | null = null;
  private lagMeasuredAt = 0;
  private stepping: Promise<number> = Promise.resolve(0);
  /** The newest read of the log queued or started, shared by callers of `loggedAllAsOfNow`. */
  private queued: QueuedStep | null = null;
  private readonly batchSize: number;

  constructor(
    private readonly store: EventStore,
    private readonly metrics: SignoffMetrics,
    private readonly clock: Clock,
    @Inject(AUDIT_TREE_OPTIONS) private readonly options: AuditTreeOptions,
  ) {
    this.storage = auditTreeStoreOf(store);
    this.batchSize = options.batchSize ?? 1000;
  }

  /** Whether this store keeps the tree (PostgreSQL, PGlite; not KurrentDB). */
  get available(): boolean {
    return this.storage !== null;
  }

  /** Leaves in the tree now. */
  get size(): number {
    return this.tree.size;
  }

  onApplicationBootstrap(): void {
    if (!this.storage) {
      this.logger.warn('the audit tree is not kept on this event store (no SQL beside it): /api/v1/audit answers 503 audit_unavailable');
      return;
    }
    this.loop = this.run();
    this.headTimer = setInterval(() => {
      void this.signIfGrown().catch((error: unknown) => this.logger.warn(`signing a tree head failed: ${(error as Error).message}`));
    }, this.options.headIntervalMs);
    this.headTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    if (this.headTimer) clearInterval(this.headTimer);
    this.wake?.();
    await this.loop;
  }

  /** Resolves once the stored leaves are loaded (the tree answers for everything it stored). */
  ready(): Promise<void> {
    if (!this.storage) return Promise.resolve();
    return (this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = null;
      throw error;
    }));
  }

  /** Reads the log until the tree has logged everything readable now (tests, benchmarks). */
  async catchUp(): Promise<void> {
    await this.ready();
    while ((await this.step()) === this.batchSize);
  }

  /** The tree itself (proofs and roots of any size up to `size`). */
  get merkle(): MerkleTree {
    return this.tree;
  }

  /** The newest signed head; signs one first when none exists yet. */
  async latestHead(): Promise<SignedTreeHead> {
    await this.ready();
    this.latest ??= await this.requireStorage().latestHead();
    return this.latest ?? this.signNow();
  }

  /** A signed head that covers at least `size` leaves: the smallest stored one, else a new one now. */
  async headCovering(size: number): Promise<SignedTreeHead> {
    await this.ready();
    const stored = await this.requireStorage().headCovering(size);
    return stored ?? this.signNow();
  }

  /** The stored signed head of exactly `size`, if any. */
  async headOfSize(size: number): Promise<SignedTreeHead | null> {
    const [head] = await this.requireStorage().readHeads(size, 1);
    return head && head.tree_size === size ? head : null;
  }

  /** The leaves that logged this event id. */
  findLeaves(eventId: string): Promise<AuditLeaf[]> {
    return this.requireStorage().findLeaves(eventId);
  }

  /** Signs a head of the tree as it is now (on demand; one head per size is kept). */
  async signNow(): Promise<SignedTreeHead> {
    await this.ready();
    const size = this.tree.size;
    const head = { tree_size: size, root_hash: toHex(this.tree.root(size)), timestamp: this.clock.now().getTime() };
    const signed: SignedTreeHead = { ...head, ...this.options.keys.signDetached(treeHeadBytes(head, this.options.keys.currentKid)) };
    await this.requireStorage().appendHead(signed);
    this.metrics.auditTreeHeadsSigned.inc();
    // Another instance may have signed this size first: its head is the one kept.
    const kept = (await this.headOfSize(size)) ?? signed;
    if (!this.latest || kept.tree_size >= this.latest.tree_size) this.latest = kept;
    return kept;
  }

  private requireStorage(): AuditTreeStore {
    if (!this.storage) throw new Error('the audit tree is not available on this store');
    return this.storage;
  }

  private async signIfGrown(): Promise<void> {
    if (this.stopping) return;
    const latest = await this.latestHeadOrNull();
    if (latest === null || this.tree.size > latest.tree_size) await this.signNow();
  }

  private async latestHeadOrNull(): Promise<SignedTreeHead | null> {
    await this.ready();
    this.latest ??= await this.requireStorage().latestHead();
    return this.latest;
  }

  private async load(): Promise<void> {
    const storage = this.requireStorage();
    await storage.migrate();
    for (;;) {
      const leaves = await storage.readLeaves(this.tree.size, 10_000);
      for (const leaf of leaves) this.tree.append(hashFromHex(leaf.leaf_hash)!);
      const last = leaves.at(-1);
      if (last) this.last = { position: last.position, streamId: last.stream_id, eventId: last.event_id };
      if (leaves.length < 10_000) break;
    }
    this.metrics.auditTreeSize.set(this.tree.size);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let signedAtStart = false;
    while (!this.stopping) {
      try {
        await this.ready();
        const read = await this.step();
        // A first head as soon as the tree has caught up at start, so the log is never long unsigned.
        if (!signedAtStart && read < this.batchSize) {
          await this.signIfGrown();
          signedAtStart = true;
        }
        failures = 0;
        this.metrics.auditTreeStalled.set(0);
        if (read < this.batchSize) await this.sleep(this.options.pollIntervalMs);
      } catch (error) {
        failures += 1;
        this.metrics.auditTreeStalled.set(1);
        const level = error instanceof AuditTreeDivergedError ? 'error' : 'warn';
        this.logger[level](`the audit tree cannot extend itself, retrying: ${(error as Error).message}`);
        await this.sleep(Math.min(250 * 2 ** (failures - 1), MAX_BACKOFF_MS));
      }
    }
  }

  /**
   * Whether the tree has logged every event the log held at `since` (a performance.now() taken
   * when the request came), for an answer that must tell "no such event" from "not logged yet"
   * (an inclusion proof of an unknown id). One read of the log after the last leaf that started at
   * or after `since`: the newest such read is shared (queued, running or done), so a flood of
   * unknown ids costs about one read per read, not one per request. Fewer events than a batch:
   * caught up; a full batch: the tree is still building (after a restart over a long log, say);
   * a failed read or no answer within `timeoutMs`: it cannot say.
   */
  async loggedAllAsOfNow(since: number, timeoutMs: number): Promise<TreeCatchUp> {
    await this.ready();
    const newest = this.queued;
    const queued = newest && (newest.startedAt === null || newest.startedAt >= since) ? newest : this.queueStep();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<TreeCatchUp>((resolve) => {
      timer = setTimeout(() => resolve('stalled'), timeoutMs);
    });
    try {
      return await Promise.race([queued.promise.then((read): TreeCatchUp => (read < this.batchSize ? 'caught_up' : 'behind'), (): TreeCatchUp => 'stalled'), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** One read of the log after the last leaf (one at a time); resolves with how many new events it logged. */
  private step(): Promise<number> {
    return this.queueStep().promise;
  }

  private queueStep(): QueuedStep {
    const entry: { promise: Promise<number>; startedAt: number | null } = { promise: Promise.resolve(0), startedAt: null };
    entry.promise = this.stepping.then(() => {
      entry.startedAt = performance.now();
      return this.stepOnce();
    });
    this.stepping = entry.promise.catch(() => 0);
    this.queued = entry;
    return entry;
  }

  private async stepOnce(): Promise<number> {
    const last = this.last;
    const events = await this.store.readAll({ fromPosition: last?.position ?? 0n, maxCount: this.batchSize + (last ? 1 : 0) });
    if (last) {
      // readAll starts at the last logged event (inclusive): it must still be there, unchanged in place.
      const first = events.shift();
      if (!first || first.streamId !== last.streamId || first.id !== last.eventId) throw new AuditTreeDivergedError(this.tree.size - 1);
    }
    if (events.length > 0) {
      const leaves = events.map((event, i) => this.leafOf(event, this.tree.size + i));
      await this.requireStorage().appendLeaves(leaves);
      for (const leaf of leaves) this.tree.append(hashFromHex(leaf.leaf_hash)!);
      const end = events.at(-1)!;
      this.last = { position: end.position, streamId: end.streamId, eventId: end.id };
      this.metrics.auditTreeSize.set(this.tree.size);
    }
    await this.measureLag(events.length < this.batchSize);
    return events.length;
  }

  private leafOf(event: RecordedEvent, index: number): AuditLeaf {
    return {
      leaf_index: index,
      stream_id: event.streamId,
      event_id: event.id,
      position: event.position,
      tenant: fromJobStreamId(event.streamId)?.tenant ?? null,
      leaf_hash: toHex(leafHashOf(logEntryOf(event))),
    };
  }

  private async measureLag(caughtUp: boolean): Promise<void> {
    const now = Date.now();
    // Once a second while catching up; when caught up (the count is then small) up to four times a second.
    if (now - this.lagMeasuredAt < (caughtUp ? LAG_EVERY_MS / 4 : LAG_EVERY_MS)) return;
    this.lagMeasuredAt = now;
    this.metrics.auditTreeLag.set(await this.requireStorage().eventsAfter(this.last?.position ?? null, LAG_CAP));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
