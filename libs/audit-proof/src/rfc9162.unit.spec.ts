import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MerkleTree } from './merkle-tree';
import { EMPTY_ROOT, hashChildren, hashLeaf, rootOfLeafHashes, verifyConsistency, verifyInclusion } from './rfc9162';

interface Vectors {
  rfc6962_hasher: { empty_root: string; empty_leaf: string; leaf_L123456: string; node_N123_N456: string };
  reference_tree: {
    leaves_hex: string[];
    roots: string[];
    inclusion_proofs: Array<{ leaf: number; size: number; proof: string[] }>;
    consistency_proofs: Array<{ size1: number; size2: number; proof: string[] }>;
  };
  testdata_files: Array<{ path: string; content: Record<string, unknown> & { desc: string; wantErr: boolean; proof: string[] } }>;
}

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'testdata', 'transparency-dev-merkle.json'), 'utf8')) as Vectors;
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ascii = (s: string) => new TextEncoder().encode(s);

const referenceLeaves = vectors.reference_tree.leaves_hex.map((h) => hashLeaf(hex(h)));
function referenceTree(size = referenceLeaves.length): MerkleTree {
  const tree = new MerkleTree();
  for (const leaf of referenceLeaves.slice(0, size)) tree.append(leaf);
  return tree;
}

describe('RFC 6962/9162 hashing (transparency-dev/merkle vectors)', () => {
  it('hashes the empty tree, leaves and nodes as the published vectors do', () => {
    const v = vectors.rfc6962_hasher;
    expect(toHex(EMPTY_ROOT)).toBe(v.empty_root);
    expect(toHex(hashLeaf(new Uint8Array(0)))).toBe(v.empty_leaf);
    expect(toHex(hashLeaf(ascii('L123456')))).toBe(v.leaf_L123456);
    expect(toHex(hashChildren(ascii('N123'), ascii('N456')))).toBe(v.node_N123_N456);
  });

  it('gives the published root of every prefix of the reference tree (by definition and incrementally)', () => {
    const tree = referenceTree();
    vectors.reference_tree.roots.forEach((root, i) => {
      expect(toHex(rootOfLeafHashes(referenceLeaves.slice(0, i + 1)))).toBe(root);
      expect(toHex(tree.root(i + 1))).toBe(root);
    });
    expect(toHex(tree.root(0))).toBe(vectors.rfc6962_hasher.empty_root);
  });

  it('generates exactly the published inclusion proofs, and they verify', () => {
    const tree = referenceTree();
    for (const p of vectors.reference_tree.inclusion_proofs) {
      const proof = tree.inclusionProof(p.leaf - 1, p.size);
      expect(proof.map(toHex), `leaf ${p.leaf} of ${p.size}`).toEqual(p.proof);
      expect(verifyInclusion(p.leaf - 1, p.size, referenceLeaves[p.leaf - 1]!, p.proof.map(hex), hex(vectors.reference_tree.roots[p.size - 1]!))).toBe(true);
    }
  });

  it('generates exactly the published consistency proofs, and they verify', () => {
    const tree = referenceTree();
    const roots = vectors.reference_tree.roots.map(hex);
    for (const p of vectors.reference_tree.consistency_proofs) {
      expect(tree.consistencyProof(p.size1, p.size2).map(toHex), `${p.size1} -> ${p.size2}`).toEqual(p.proof);
      expect(verifyConsistency(p.size1, p.size2, roots[p.size1 - 1]!, roots[p.size2 - 1]!, p.proof.map(hex))).toBe(true);
    }
  });

  it('answers every published testdata case as wanted (happy paths verify, corrupted ones are refused)', () => {
    for (const file of vectors.testdata_files) {
      const c = file.content as { leafIdx?: number; treeSize?: number; root?: string; leafHash?: string; size1?: number; size2?: number; root1?: string; root2?: string; proof: string[]; wantErr: boolean };
      const ok =
        c.leafIdx !== undefined
          ? verifyInclusion(c.leafIdx, c.treeSize!, b64(c.leafHash!), c.proof.map(b64), b64(c.root!))
          : verifyConsistency(c.size1!, c.size2!, b64(c.root1!), b64(c.root2!), c.proof.map(b64));
      expect(ok, file.path).toBe(!c.wantErr);
    }
  });

  it('refuses the edge cases of the Go verifier tests', () => {
    const some = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
    expect(verifyInclusion(0, 0, some, [], EMPTY_ROOT)).toBe(false);
    expect(verifyInclusion(1, 1, some, [], some)).toBe(false);
    const leaf = hashLeaf(ascii('data'));
    expect(verifyInclusion(0, 1, leaf, [], leaf)).toBe(true);
    expect(verifyInclusion(0, 1, leaf, [], new Uint8Array(0))).toBe(false);
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])).toBe(true);
    expect(verifyConsistency(1, 1, some, some, [])).toBe(true);
    expect(verifyConsistency(1, 1, some, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(2, 1, some, some, [])).toBe(false);
    expect(verifyConsistency(1, 2, some, EMPTY_ROOT, [])).toBe(false);
    expect(verifyConsistency(0, 1, EMPTY_ROOT, some, [EMPTY_ROOT])).toBe(false);
  });
});

describe('proofs of random trees (fast-check)', () => {
  const leafHashes = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(ascii(`leaf ${i}`)));
  const build = (hashes: Uint8Array[]) => {
    const tree = new MerkleTree();
    for (const h of hashes) tree.append(h);
    return tree;
  };
  const flip = (proof: Uint8Array[], at: number, bit: number): Uint8Array[] =>
    proof.map((h, i) => {
      if (i !== at) return h;
      const copy = h.slice();
      copy[Math.floor(bit / 8)]! ^= 1 << bit % 8;
      return copy;
    });

  it('every root of the incremental tree equals the definition', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
        const hashes = leafHashes(n);
        const tree = build(hashes);
        for (const m of [0, Math.floor(n / 3), n]) expect(toHex(tree.root(m))).toBe(toHex(rootOfLeafHashes(hashes.slice(0, m))));
      }),
      { numRuns: 60 },
    );
  });

  it('every inclusion proof verifies, and any flipped bit, other index or other size fails', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }))),
        ([size, index, pick, bit]) => {
          const hashes = leafHashes(size);
          const tree = build(hashes);
          const root = tree.root(size);
          const proof = tree.inclusionProof(index, size);
          expect(verifyInclusion(index, size, hashes[index]!, proof, root)).toBe(true);
          if (proof.length > 0) expect(verifyInclusion(index, size, hashes[index]!, flip(proof, pick % proof.length, bit), root)).toBe(false);
          const flippedLeaf = flip([hashes[index]!], 0, bit)[0]!;
          expect(verifyInclusion(index, size, flippedLeaf, proof, root)).toBe(false);
          expect(verifyInclusion(index, size, hashes[index]!, proof, flip([root], 0, bit)[0]!)).toBe(false);
          if (size > 1) expect(verifyInclusion((index + 1) % size, size, hashes[index]!, proof, root)).toBe(false);
          expect(verifyInclusion(index, size * 2, hashes[index]!, proof, root)).toBe(false);
          expect(verifyInclusion(index, size, hashes[index]!, [...proof, root], root)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('every consistency proof verifies, and any flipped bit, truncation or other size fails', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }).chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2), fc.nat(), fc.integer({ min: 0, max: 255 }))),
        ([size1, size2, pick, bit]) => {
          const tree = build(leafHashes(size2));
          const [root1, root2] = [tree.root(size1), tree.root(size2)];
          const proof = tree.consistencyProof(size1, size2);
          expect(verifyConsistency(size1, size2, root1, root2, proof)).toBe(true);
          if (proof.length === 0) return;
          expect(verifyConsistency(size1, size2, root1, root2, flip(proof, pick % proof.length, bit))).toBe(false);
          expect(verifyConsistency(size1, size2, flip([root1], 0, bit)[0]!, root2, proof)).toBe(false);
          expect(verifyConsistency(size1, size2, root1, flip([root2], 0, bit)[0]!, proof)).toBe(false);
          expect(verifyConsistency(size1, size2, root1, root2, proof.slice(0, -1))).toBe(false);
          expect(verifyConsistency(size1, size2 * 2, root1, root2, proof)).toBe(false);
          if (size1 > 1) expect(verifyConsistency(size1 - 1, size2, root1, root2, proof)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
