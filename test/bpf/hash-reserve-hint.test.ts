// Tuple-hashed tables check the slot findForInsert() last found or filled
// before hashing and probing (HashTable.lastSlot): ct_create4() reserves the
// same related ICMP key for every new flow between two pods. These tests run
// the same operations with the keys in KEY_SCRATCH (where the hint applies)
// and in their own buffers (never) and require identical answers, contents,
// slot order and LRU recency, through repeated reserves of few keys, deletes
// and slot reuse, clears, clones, full maps, eviction and index growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashMap } from '../../src/bpf/hash.js';
import { LruHashMap } from '../../src/bpf/lru.js';
import type { HashTable } from '../../src/bpf/hash-table.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../../src/bpf/types.js';
import { hexKey } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';
import { ctTupleSpace, dumpCtLike, reverseTuple, tupleInScratch, valueOf, type CtLike } from './helpers.js';

const spec = (maxEntries: number) => ({ name: 'cilium_ct_any4_global', keySize: 14, valueSize: 8, maxEntries });

/** `k` in KEY_SCRATCH, with junk in the two bytes past the tuple. */
const inScratch = (k: Uint8Array): Uint8Array => tupleInScratch(k, 0x3cc3);

/** Whether findForInsert() will answer `k` from its hint (the hinted slot is live and holds exactly k). */
function hinted(t: HashTable, k: Uint8Array): boolean {
  const last = t['lastSlot'];
  if (last < 0 || t.live[last] !== 1) return false;
  for (let i = 0; i < 14; i++) if (t.keys[last * t.recordStride + i] !== k[i]) return false;
  return true;
}

/** Random operations on `fast` (keys in KEY_SCRATCH) and `slow` (own buffers); returns how often the hint answered. */
function runDifferential(make: () => CtLike, seed: number, ops: number, keys: number): number {
  const rng = new Rng(seed);
  const keySpace = ctTupleSpace(rng, keys, () => 1);
  let fast = make();
  let slow = make();
  let taken = 0;
  const flagsOf = [BPF_ANY, BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST];
  for (let op = 0; op < ops; op++) {
    const r = rng.below(100);
    // Mostly a few hot keys, as many flows between one pod pair reserve one related key.
    const key = rng.below(4) === 0 ? keySpace[rng.below(keySpace.length)] : keySpace[rng.below(3)];
    if (r < 55) {
      const flags = flagsOf[rng.below(flagsOf.length)];
      if (hinted(fast.table, key)) taken++;
      const off = fast.reserve(inScratch(key), flags);
      assert.equal(off, slow.reserve(key.slice(), flags), `op ${op}: reserve`);
      if (off >= 0) {
        fast.values[off] = op & 0xff;
        slow.values[off] = op & 0xff;
      }
    } else if (r < 65) {
      // ct_lookup4 (misses leave the remembered miss), then ct_create4's forward insert.
      assert.equal(fast.lookupTupleOrReverse(inScratch(key)), slow.lookupTupleOrReverse(key.slice()), `op ${op}: lookup`);
      const fwd = reverseTuple(key);
      assert.equal(fast.reserve(inScratch(fwd)), slow.reserve(fwd.slice()), `op ${op}: create`);
    } else if (r < 78) {
      assert.equal(fast.delete(inScratch(key)), slow.delete(key.slice()), `op ${op}: delete`);
    } else if (r < 88) {
      assert.equal(fast.lookup(inScratch(key)), slow.lookup(key.slice()), `op ${op}: lookup`);
    } else if (r < 95) {
      assert.equal(fast.update(inScratch(key), valueOf(8, 0xee)), slow.update(key.slice(), valueOf(8, 0xee)), `op ${op}: update`);
    } else if (r < 98) {
      const f2 = fast.clone();
      const s2 = slow.clone();
      // The original goes on changing; the copy must answer for its own contents.
      const other = keySpace[rng.below(keySpace.length)];
      assert.equal(fast.delete(inScratch(key)), slow.delete(key.slice()), `op ${op}: delete on original`);
      assert.equal(fast.reserve(inScratch(other)), slow.reserve(other.slice()), `op ${op}: reserve on original`);
      fast = f2;
      slow = s2;
    } else if (rng.below(4) === 0) {
      fast.clear();
      slow.clear();
    }
    assert.equal(fast.count, slow.count, `op ${op}: count`);
    if (op % 89 === 0) assert.deepEqual(dumpCtLike(fast), dumpCtLike(slow), `op ${op}: contents`);
  }
  assert.deepEqual(dumpCtLike(fast), dumpCtLike(slow));
  return taken;
}

test('LRU CT map: reserves answered from the hint match the general path (eviction, deletes, clears, clones)', () => {
  const taken = runDifferential(() => new LruHashMap(spec(8), { tupleHash: true }), 0x61, 20_000, 40);
  assert.ok(taken > 1000, `the hint answered (${taken} times)`);
});

test('LRU CT map: reserves answered from the hint match the general path while storage and index grow', () => {
  const taken = runDifferential(() => new LruHashMap(spec(4096), { tupleHash: true }), 0x62, 20_000, 3000);
  assert.ok(taken > 1000, `the hint answered (${taken} times)`);
});

test('hash CT map: reserves answered from the hint match the general path (full map, deletes, clears, clones)', () => {
  const taken = runDifferential(() => new HashMap(spec(8), { tupleHash: true }), 0x63, 20_000, 40);
  assert.ok(taken > 1000, `the hint answered (${taken} times)`);
});

test('hash CT map: reserves answered from the hint match the general path while storage and index grow', () => {
  const taken = runDifferential(() => new HashMap(spec(4096), { tupleHash: true }), 0x64, 20_000, 3000);
  assert.ok(taken > 1000, `the hint answered (${taken} times)`);
});

test('the hint: a repeated reserve is a hit that refreshes recency; a freed or reused slot answers nothing', () => {
  const rng = new Rng(0x65);
  const [a, b, c] = ctTupleSpace(rng, 6, () => 1).filter((_, i) => i % 2 === 0);
  const m = new LruHashMap(spec(2), { tupleHash: true });
  const t = m.table;
  const offA = m.reserve(inScratch(a));
  assert.equal(hinted(t, a), true, 'an insert sets it');
  m.reserve(inScratch(b));
  assert.equal(hinted(t, a), false);
  assert.equal(m.reserve(inScratch(a)), offA, 'found by probing');
  assert.equal(hinted(t, a), true, 'a hit sets it');
  assert.equal(m.reserve(inScratch(a)), offA, 'answered from the hint');
  assert.equal(m.reserve(inScratch(a), BPF_NOEXIST), -17, 'BPF_NOEXIST on a hinted hit is -EEXIST');
  // a is the most recent: inserting c evicts b, not a.
  m.reserve(inScratch(c));
  assert.deepEqual(dumpCtLike(m).filter((l) => l.startsWith('mru')), [`mru ${hexKey(c, 0, 14)}`, `mru ${hexKey(a, 0, 14)}`]);
  assert.equal(m.reserve(inScratch(a)), offA);
  assert.equal(m.delete(a), 0);
  assert.equal(hinted(t, a), false, 'a deleted slot is not live');
  assert.equal(m.reserve(inScratch(a), BPF_EXIST), -2, 'gone: BPF_EXIST is -ENOENT');
  // Its slot is reused by b: the hint names b's entry now, and a is absent.
  m.reserve(inScratch(b));
  assert.equal(m.lookup(a), -1);
  assert.ok(m.reserve(inScratch(a)) >= 0);
  assert.equal(m.count, 2);
  m.clear();
  assert.equal(hinted(t, a), false, 'a clear empties every slot');
  assert.equal(m.reserve(inScratch(a), BPF_EXIST), -2);
});

test('tuple-hashed tables (whose insert stores the tuple without a word loop) hold what plain tables hold after the same operations', () => {
  for (const [make, plain] of [
    [() => new LruHashMap(spec(16), { tupleHash: true }), () => new LruHashMap(spec(16))],
    [() => new HashMap(spec(16), { tupleHash: true }), () => new HashMap(spec(16))],
    [() => new LruHashMap(spec(4096), { tupleHash: true }), () => new LruHashMap(spec(4096))],
  ] as const) {
    const rng = new Rng(0x66);
    const keySpace = ctTupleSpace(rng, 600, (i) => (i % 3 === 0 ? 1 : 6));
    let tuple: CtLike = make();
    let general: CtLike = plain();
    for (let op = 0; op < 10_000; op++) {
      const r = rng.below(100);
      const key = keySpace[rng.below(rng.below(2) === 0 ? 20 : keySpace.length)];
      if (r < 60) {
        const off = tuple.reserve(inScratch(key));
        assert.equal(off, general.reserve(key.slice()), `op ${op}: reserve`);
        if (off >= 0) {
          tuple.values[off + 1] = op & 0xff;
          general.values[off + 1] = op & 0xff;
        }
      } else if (r < 80) {
        assert.equal(tuple.delete(inScratch(key)), general.delete(key.slice()), `op ${op}: delete`);
      } else if (r < 97) {
        assert.equal(tuple.lookup(inScratch(key)), general.lookup(key.slice()), `op ${op}: lookup`);
      } else if (r < 99) {
        tuple = tuple.clone();
        general = general.clone();
      } else {
        tuple.clear();
        general.clear();
      }
      if (op % 101 === 0) assert.deepEqual(dumpCtLike(tuple), dumpCtLike(general), `op ${op}: contents`);
    }
    assert.deepEqual(dumpCtLike(tuple), dumpCtLike(general));
  }
});
