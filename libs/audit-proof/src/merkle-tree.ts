/**
 * An append-only Merkle tree (RFC 9162 §2.1) that keeps every complete subtree hash, so the root of
 * any earlier size and every inclusion or consistency proof costs O(log n) hashes, whatever n.
 * Memory: two hashes per leaf (64 bytes), in one flat buffer per level.
 */
import { EMPTY_ROOT, HASH_SIZE, hashChildren, splitPoint } from './rfc9162';

/** The hashes of one level of the tree: node i covers leaves [i * 2^level, (i + 1) * 2^level). */
class HashLevel {
  private bytes = new Uint8Array(HASH_SIZE * 64);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_SIZE > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.length * HASH_SIZE);
    this.length += 1;
  }

  get(i: number): Uint8Array {
    return this.bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

export class MerkleTree {
  private readonly levels: HashLevel[] = [new HashLevel()];

  /** Number of leaves. */
  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends one leaf hash (already `hashLeaf`ed). */
  append(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new RangeError(`a leaf hash has ${HASH_SIZE} bytes`);
    this.levels[0]!.push(leafHash);
    // Every time a level gets an even count, its last two nodes complete a node of the level above.
    for (let level = 0; this.levels[level]!.length % 2 === 0; level += 1) {
      const nodes = this.levels[level]!;
      const parent = hashChildren(nodes.get(nodes.length - 2), nodes.get(nodes.length - 1));
      (this.levels[level + 1] ??= new HashLevel()).push(parent);
    }
  }

  /** The leaf hash at `index`. */
  leaf(index: number): Uint8Array {
    this.check(index, 0, this.size - 1);
    return this.levels[0]!.get(index);
  }

  /** MTH(D[0:size]) for any size up to the current one. */
  root(size: number = this.size): Uint8Array {
    this.check(size, 0, this.size);
    return size === 0 ? EMPTY_ROOT : this.rangeHash(0, size);
  }

  /** PATH(index, D[0:size]) (RFC 9162 §2.1.3.1): the audit path, leaf to root. */
  inclusionProof(index: number, size: number = this.size): Uint8Array[] {
    this.check(size, 1, this.size);
    this.check(index, 0, size - 1);
    const path = (m: number, start: number, end: number): Uint8Array[] => {
      const n = end - start;
      if (n === 1) return [];
      const k = splitPoint(n);
      return m < k
        ? [...path(m, start, start + k), this.rangeHash(start + k, end)]
        : [...path(m - k, start + k, end), this.rangeHash(start, start + k)];
    };
    return path(index, 0, size);
  }

  /** PROOF(size1, D[0:size2]) (RFC 9162 §2.1.4.1): proves the size1 tree is a prefix of the size2 tree. */
  consistencyProof(size1: number, size2: number = this.size): Uint8Array[] {
    this.check(size2, 0, this.size);
    this.check(size1, 0, size2);
    if (size1 === 0 || size1 === size2) return [];
    const subproof = (m: number, start: number, end: number, complete: boolean): Uint8Array[] => {
      const n = end - start;
      if (m === n) return complete ? [] : [this.rangeHash(start, end)];
      const k = splitPoint(n);
      return m <= k
        ? [...subproof(m, start, start + k, complete), this.rangeHash(start + k, end)]
        : [...subproof(m - k, start + k, end, false), this.rangeHash(start, start + k)];
    };
    return subproof(size1, 0, size2, true);
  }

  /**
   * MTH(D[start:end]) for the ranges RFC 9162's recursion visits: a complete aligned subtree is
   * read from its level, anything else is split as the RFC splits it.
   */
  private rangeHash(start: number, end: number): Uint8Array {
    const n = end - start;
    let level = 0;
    while (2 ** level < n) level += 1;
    if (2 ** level === n && start % n === 0) return this.levels[level]!.get(start / n);
    const k = splitPoint(n);
    return hashChildren(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  private check(value: number, min: number, max: number): void {
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`${value} is outside ${min}..${max} for a tree of ${this.size} leaves`);
    }
  }
}
