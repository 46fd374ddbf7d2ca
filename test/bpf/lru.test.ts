import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruHashMap } from '../../src/bpf/lru.js';
import { CtHashMap } from '../../src/bpf/ct-map.js';
import { BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, Errno } from '../../src/bpf/types.js';
import { hexKey, readU32BE, readU64LE, writeU64LE } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';
import { ctTuple, ctTupleSpace, valueOf } from './helpers.js';

const spec = (maxEntries: number, keySize = 4, valueSize = 8) => ({ name: 'cilium_ct4_global', keySize, valueSize, maxEntries });

type LruLike = LruHashMap | CtHashMap;

// The LRU semantics below hold for both LRU backends: the general LruHashMap
// and CtHashMap, the conntrack maps' tuple-specialised one. Keys are CT
// tuples with daddr = i.
const BACKENDS: [string, (maxEntries: number, flags?: number) => LruLike][] = [
  ['LruHashMap', (maxEntries, flags) => new LruHashMap({ ...spec(maxEntries, 14, 8), flags })],
  ['CtHashMap', (maxEntries, flags) => new CtHashMap({ ...spec(maxEntries, 14, 8), flags })],
];

const key = (i: number): Uint8Array => ctTuple(i, 0x0a000001, 80, 40000);

function keysOf(m: LruLike): number[] {
  const out: number[] = [];
  m.forEach((keys, off) => out.push(readU32BE(keys, off)));
  return out.sort((a, b) => a - b);
}

for (const [name, make] of BACKENDS) {
  test(`${name}: a full LRU map evicts exactly the least recently used entry and the insert succeeds`, () => {
    const m = make(3);
    for (let i = 1; i <= 3; i++) assert.equal(m.update(key(i), valueOf(8, i)), 0);
    assert.equal(m.update(key(4), valueOf(8, 4)), 0);
    assert.deepEqual(keysOf(m), [2, 3, 4]);
    assert.equal(m.evictions, 1);
    assert.equal(m.count, 3);
  });

  test(`${name}: lookups and updates count as use; peek and forEach do not`, () => {
    const m = make(3);
    for (let i = 1; i <= 3; i++) m.update(key(i), valueOf(8, i));
    assert.ok(m.lookup(key(1)) >= 0); // order (old→new): 2 3 1
    assert.equal(m.update(key(4), valueOf(8, 4)), 0); // evicts 2
    assert.deepEqual(keysOf(m), [1, 3, 4]);
    assert.equal(m.update(key(3), valueOf(8, 33)), 0); // order: 1 4 3
    assert.ok(m.peek(key(1)) >= 0); // no refresh
    m.forEach(() => undefined);
    assert.equal(m.update(key(5), valueOf(8, 5)), 0); // evicts 1
    assert.deepEqual(keysOf(m), [3, 4, 5]);
    assert.ok(m.reserve(key(4)) >= 0); // order: 3 5 4
    assert.equal(m.update(key(6), valueOf(8, 6)), 0); // evicts 3
    assert.deepEqual(keysOf(m), [4, 5, 6]);
    assert.equal(m.evictions, 3);
    const order: number[] = [];
    m.forEachByRecency((keys, off) => order.push(readU32BE(keys, off)));
    assert.deepEqual(order, [6, 4, 5]);
  });

  test(`${name}: new entries are zeroed even when they take an evicted slot`, () => {
    const m = make(1);
    m.update(key(1), valueOf(8, 0xee));
    const off = m.reserve(key(2));
    assert.deepEqual([...m.values.subarray(off, off + 8)], Array(8).fill(0));
    assert.equal(m.lookup(key(1)), -1);
  });

  test(`${name}: flags, delete, and deletes during iteration`, () => {
    const m = make(4);
    assert.equal(m.update(key(1), valueOf(8, 1), BPF_EXIST), -Errno.ENOENT);
    assert.equal(m.update(key(1), valueOf(8, 1), BPF_NOEXIST), 0);
    assert.equal(m.update(key(1), valueOf(8, 2), BPF_NOEXIST), -Errno.EEXIST);
    assert.equal(m.update(key(1), valueOf(8, 2), 9), -Errno.EINVAL);
    assert.equal(m.delete(key(2)), -Errno.ENOENT);
    for (let i = 2; i <= 4; i++) m.update(key(i), valueOf(8, i));
    m.forEach((keys, off) => {
      if (readU32BE(keys, off) % 2 === 0) assert.equal(m.delete(keys.slice(off, off + 14)), 0);
    });
    assert.deepEqual(keysOf(m), [1, 3]);
    // Deleted entries leave the recency list: two more inserts fill the map without evicting.
    m.update(key(7), valueOf(8, 7));
    m.update(key(8), valueOf(8, 8));
    assert.equal(m.evictions, 0);
    m.update(key(9), valueOf(8, 9));
    assert.deepEqual(keysOf(m), [3, 7, 8, 9]);
    m.forEachByRecency((keys, off) => m.delete(keys.slice(off, off + 14)));
    assert.equal(m.count, 0);
  });

  test(`${name}: clone is independent, including recency and eviction counter`, () => {
    const m = make(2);
    m.update(key(1), valueOf(8, 1));
    m.update(key(2), valueOf(8, 2));
    const c = m.clone();
    c.lookup(key(1));
    c.update(key(3), valueOf(8, 3)); // clone evicts 2
    m.update(key(3), valueOf(8, 3)); // original evicts 1
    assert.deepEqual(keysOf(c), [1, 3]);
    assert.deepEqual(keysOf(m), [2, 3]);
    c.clear();
    assert.equal(c.count, 0);
    assert.equal(m.count, 2);
  });

  test(`${name}: LRU maps must be preallocated, as in the kernel`, () => {
    assert.throws(() => make(4, BPF_F_NO_PREALLOC));
  });
}

for (const backend of ['LruHashMap', 'CtHashMap'] as const) test(`differential: 100k random operations against an insertion-ordered Map model (${backend}${backend === 'CtHashMap' ? ', tuples and their reverses' : ''})`, () => {
  const tuples = backend === 'CtHashMap';
  const rng = new Rng(0x1eaf);
  const maxEntries = 256;
  const keySpace = tuples ? ctTupleSpace(rng, 512, () => 17) : Array.from({ length: 512 }, (_, i) => ctTuple(rng.u32(), rng.u32(), i, rng.below(65536), 17));
  const m = backend === 'CtHashMap' ? new CtHashMap(spec(maxEntries, 14, 8)) : new LruHashMap(spec(maxEntries, 14, 8));
  // Map iteration order is insertion order, so delete+set moves a key to the "most recent" end.
  const model = new Map<string, number>();
  const touch = (hk: string, v: number) => {
    model.delete(hk);
    model.set(hk, v);
  };
  let evictions = 0;
  const insertRoom = () => {
    if (model.size >= maxEntries) {
      model.delete(model.keys().next().value as string);
      evictions++;
    }
  };
  const value = new Uint8Array(8);
  for (let op = 0; op < 100_000; op++) {
    const key = keySpace[rng.below(keySpace.length)];
    const hk = hexKey(key, 0, 14);
    const kind = rng.below(10);
    if (kind < 4) {
      const flags = rng.below(3);
      const v = rng.u32();
      writeU64LE(value, 0, v);
      const present = model.has(hk);
      let expected = 0;
      if (flags === BPF_NOEXIST && present) expected = -Errno.EEXIST;
      else if (flags === BPF_EXIST && !present) expected = -Errno.ENOENT;
      assert.equal(m.update(key, value, flags), expected, `op ${op} update`);
      if (expected === 0) {
        if (!present) insertRoom();
        touch(hk, v);
      }
    } else if (kind < 5) {
      assert.equal(m.delete(key), model.has(hk) ? 0 : -Errno.ENOENT, `op ${op} delete`);
      model.delete(hk);
    } else if (kind < 6) {
      const off = m.reserve(key);
      assert.ok(off >= 0);
      const had = model.get(hk);
      if (had === undefined) insertRoom();
      assert.equal(readU64LE(m.values, off), had ?? 0, `op ${op} reserve`);
      touch(hk, had ?? 0);
    } else {
      const off = m.lookup(key);
      const had = model.get(hk);
      if (had === undefined) assert.equal(off, -1, `op ${op} lookup miss`);
      else {
        assert.equal(readU64LE(m.values, off), had, `op ${op} lookup`);
        touch(hk, had);
      }
    }
    assert.equal(m.count, model.size);
    if (op % 10_000 === 0) {
      const order: string[] = [];
      m.forEachByRecency((keys, off) => order.push(hexKey(keys, off, 14)));
      assert.deepEqual(order.reverse(), [...model.keys()]);
    }
  }
  assert.equal(m.evictions, evictions);
  assert.ok(evictions > 1000, 'the run exercised eviction');
});
