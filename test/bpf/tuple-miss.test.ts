// The tuple-hashed tables remember findTupleOrReverse()'s last miss, so the
// insert ct_create4() makes right after ct_lookup4() missed skips the rehash
// and reprobe (HashTable.loadMissedTuple, and insert's remembered position).
// These tests run the same operations through that fast path (tuples built in
// KEY_SCRATCH, as the datapath builds them) and through the general path
// (tuples in their own buffers, which the fast path never takes) and require
// identical results, contents, slot order and LRU recency, across index
// growth, deletes, clears, clones, full maps and eviction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashMap } from '../../src/bpf/hash.js';
import { LruHashMap } from '../../src/bpf/lru.js';
import { KEY_SCRATCH } from '../../src/bpf/hash-table.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../../src/bpf/types.js';
import { Rng } from '../../src/util/rng.js';
import { ctTupleSpace, dumpCtLike, reverseTuple, tupleInScratch, valueOf, type CtLike } from './helpers.js';

const spec = (maxEntries: number) => ({ name: 'cilium_ct4_global', keySize: 14, valueSize: 8, maxEntries });

/** `k` in KEY_SCRATCH, with junk in the two bytes past the tuple. */
const inScratch = (k: Uint8Array): Uint8Array => tupleInScratch(k, 0x5aa5);

/**
 * Random ct_lookup4/ct_create4 pairs with deletes, clears, clones and
 * unrelated inserts between them, on `fast` (keys in KEY_SCRATCH) and `slow`
 * (keys in their own buffers). Returns how often the fast path was taken.
 */
function runDifferential(make: () => CtLike, seed: number, ops: number, keys: number): number {
  const rng = new Rng(seed);
  const keySpace = ctTupleSpace(rng, keys, (i) => (i % 4 === 0 ? 17 : 6));
  let fast = make();
  let slow = make();
  let taken = 0;
  const flagsOf = [BPF_ANY, BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST];
  for (let op = 0; op < ops; op++) {
    const r = rng.below(100);
    const key = keySpace[rng.below(keySpace.length)];
    if (r < 70) {
      // ct_lookup4 (as a reply), then on a miss ct_create4 of the forward tuple.
      const got = fast.lookupTupleOrReverse(inScratch(key));
      assert.equal(got, slow.lookupTupleOrReverse(key.slice()), `op ${op}: lookup`);
      if (got !== -1) continue;
      const between = rng.below(20);
      if (between === 0) {
        // An unrelated insert between the two: the remembered position may be taken.
        const other = keySpace[rng.below(keySpace.length)];
        assert.equal(fast.update(other, valueOf(8, op & 0xff)), slow.update(other.slice(), valueOf(8, op & 0xff)), `op ${op}: insert between`);
      } else if (between === 1) {
        const other = keySpace[rng.below(keySpace.length)];
        assert.equal(fast.delete(other), slow.delete(other.slice()), `op ${op}: delete between`);
      } else if (between === 2) {
        const f2 = fast.clone();
        const s2 = slow.clone();
        // The original may go on being used; its copy must not inherit its memory.
        if (rng.below(2) === 0) {
          const other = keySpace[rng.below(keySpace.length)];
          assert.equal(fast.reserve(inScratch(other)), slow.reserve(other.slice()), `op ${op}: reserve on original`);
        }
        fast = f2;
        slow = s2;
      } else if (between === 3 && rng.below(10) === 0) {
        fast.clear();
        slow.clear();
      }
      // Mostly the forward tuple (the fast path); sometimes the looked-up tuple itself (same hash, other key).
      const ins = rng.below(8) === 0 ? key : reverseTuple(key);
      const flags = flagsOf[rng.below(flagsOf.length)];
      const expectFast = fast.table.loadMissedTuple(inScratch(ins), 0);
      if (expectFast) taken++;
      const off = fast.reserve(inScratch(ins), flags);
      assert.equal(off, slow.reserve(ins.slice(), flags), `op ${op}: reserve`);
      if (off >= 0) {
        fast.values.fill(op & 0xff, off, off + 8);
        slow.values.fill(op & 0xff, off, off + 8);
        // Placed where a probe finds it.
        assert.equal(fast.lookup(ins.slice()), off, `op ${op}: lookup after insert`);
        slow.lookup(ins.slice());
      }
    } else if (r < 85) {
      assert.equal(fast.delete(inScratch(key)), slow.delete(key.slice()), `op ${op}: delete`);
    } else if (r < 95) {
      assert.equal(fast.lookup(inScratch(key)), slow.lookup(key.slice()), `op ${op}: lookup`);
    } else {
      assert.equal(fast.update(inScratch(key), valueOf(8, 0xee)), slow.update(key.slice(), valueOf(8, 0xee)), `op ${op}: update`);
    }
    assert.equal(fast.count, slow.count, `op ${op}: count`);
    if (op % 97 === 0) assert.deepEqual(dumpCtLike(fast), dumpCtLike(slow), `op ${op}: contents`);
  }
  assert.deepEqual(dumpCtLike(fast), dumpCtLike(slow));
  return taken;
}

test('LRU CT map: inserts after a lookup miss match the general path (eviction, deletes, clears, clones)', () => {
  const taken = runDifferential(() => new LruHashMap(spec(64), { tupleHash: true }), 0x51, 20_000, 300);
  assert.ok(taken > 3000, `the fast path ran (${taken} times)`);
});

test('LRU CT map: inserts after a lookup miss match the general path while the index grows', () => {
  const taken = runDifferential(() => new LruHashMap(spec(8192), { tupleHash: true }), 0x52, 12_000, 6000);
  assert.ok(taken > 3000, `the fast path ran (${taken} times)`);
});

test('hash CT map: inserts after a lookup miss match the general path (full map, deletes, clears, clones)', () => {
  const taken = runDifferential(() => new HashMap(spec(64), { tupleHash: true }), 0x53, 20_000, 300);
  assert.ok(taken > 1000, `the fast path ran (${taken} times)`);
});

test('hash CT map: inserts after a lookup miss match the general path while the index grows', () => {
  const taken = runDifferential(() => new HashMap(spec(8192), { tupleHash: true }), 0x54, 12_000, 6000);
  assert.ok(taken > 3000, `the fast path ran (${taken} times)`);
});

test('every insert after a miss stays findable while the index doubles under it', () => {
  for (const make of [() => new LruHashMap(spec(1024), { tupleHash: true }), () => new HashMap(spec(1024), { tupleHash: true })]) {
    const rng = new Rng(0x56);
    const keySpace = ctTupleSpace(rng, 1200, () => 6).filter((_, i) => i % 2 === 0);
    const fast = make();
    const slow = make();
    const inserted: Uint8Array[] = [];
    for (const key of keySpace) {
      assert.equal(fast.lookupTupleOrReverse(inScratch(key)), -1);
      const fwd = reverseTuple(key);
      assert.equal(fast.table.loadMissedTuple(inScratch(fwd), 0), true);
      const off = fast.reserve(inScratch(fwd));
      assert.equal(off, slow.reserve(fwd));
      inserted.push(fwd);
      for (const k of inserted) assert.ok(fast.table.find(fast.table.load(k, 0)) >= 0, `${inserted.length} entries`);
    }
    assert.deepEqual(dumpCtLike(fast), dumpCtLike(slow));
  }
});

test('loadMissedTuple: only the reverse of the last missed tuple, only until the index changes', () => {
  const rng = new Rng(0x55);
  const [a, b, c] = ctTupleSpace(rng, 6, () => 6).filter((_, i) => i % 2 === 0);
  const m = new LruHashMap(spec(4), { tupleHash: true });
  const t = m.table;
  const missed = (k: Uint8Array) => t.loadMissedTuple(inScratch(k), 0);
  assert.equal(missed(reverseTuple(a)), false, 'nothing missed yet');
  assert.equal(m.lookupTupleOrReverse(inScratch(a)), -1);
  assert.equal(missed(a), false, 'the looked-up tuple itself is not remembered');
  assert.equal(missed(reverseTuple(b)), false, 'another tuple');
  assert.equal(t.loadMissedTuple(reverseTuple(a), 0), false, 'only tuples in KEY_SCRATCH');
  assert.equal(missed(reverseTuple(a)), true);
  assert.equal(missed(reverseTuple(a)), true, 'asking changes nothing');
  // Junk past the tuple was cleared, as load() would.
  assert.equal(KEY_SCRATCH.bytes[14] | KEY_SCRATCH.bytes[15], 0);
  assert.equal(m.clone().table.loadMissedTuple(inScratch(reverseTuple(a)), 0), false, 'a clone starts without');
  // A hit does not change the index: the memory stays.
  m.update(c, valueOf(8, 1));
  assert.equal(m.lookupTupleOrReverse(inScratch(reverseTuple(b))), -1);
  assert.ok(m.lookupTupleOrReverse(inScratch(c)) >= 0);
  assert.equal(missed(b), true);
  // Any index change forgets it: insert, delete, clear.
  for (const change of [() => m.update(a, valueOf(8, 2)), () => m.delete(c), () => m.clear()]) {
    m.lookupTupleOrReverse(inScratch(reverseTuple(b)));
    assert.equal(missed(b), true);
    change();
    assert.equal(missed(b), false);
  }
  assert.ok(m.reserve(inScratch(b)) >= 0);
  assert.equal(m.count, 1);
});
