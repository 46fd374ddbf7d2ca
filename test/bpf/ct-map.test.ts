// CtHashMap (the conntrack maps' tuple-specialised storage) against the
// general maps: LruHashMap / HashMap, with ct_lookup4()'s "the tuple, else
// its reverse" as two lookups (lookupTupleOrReverse below). Both allocate
// slots the same way (not by hash), so every operation's result (value offsets
// included), the dump in slot order, the recency order and the counters must
// be identical, through growth, deletes, clears, clones and a full map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CtHashMap, storeTupleKey } from '../../src/bpf/ct-map.js';
import { LruHashMap } from '../../src/bpf/lru.js';
import { HashMap } from '../../src/bpf/hash.js';
import { BpfMapType, Errno } from '../../src/bpf/types.js';
import { hexKey, readU32BE, readU64LE, writeU64LE } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';
import { ctTuple, ctTupleSpace, reverseTuple } from './helpers.js';

const VALUE_SIZE = 16;
const spec = (maxEntries: number, type: number) => ({ name: 'cilium_ct4_global', type, keySize: 14, valueSize: VALUE_SIZE, maxEntries });

type General = LruHashMap | HashMap;

/** The tuple's four words as the datapath passes them (daddr, saddr, ports, nexthdr|flags). */
function words(k: Uint8Array): [number, number, number, number] {
  return [readU32BE(k, 0) | 0, readU32BE(k, 4) | 0, readU32BE(k, 8) | 0, (k[12] << 8) | k[13]];
}

/**
 * CtHashMap.lookupTupleOrReverse() on a general map: the tuple's value
 * offset, else `-2 - offset` of its reverse, else -1. The same recency: a
 * miss touches nothing, so only the entry found becomes the most recent.
 */
function lookupTupleOrReverse(m: General, key: Uint8Array): number {
  const own = m.lookup(key);
  if (own >= 0) return own;
  const rev = m.lookup(reverseTuple(key));
  return rev >= 0 ? -2 - rev : -1;
}

function dump(m: CtHashMap | General): string[] {
  const out: string[] = [];
  m.forEach((keys, koff, voff) => out.push(`${hexKey(keys, koff, 14)}=${hexKey(m.values, voff, VALUE_SIZE)}@${voff}`));
  if (m instanceof LruHashMap || (m instanceof CtHashMap && m.lru)) {
    m.forEachByRecency((keys, koff) => out.push(`mru ${hexKey(keys, koff, 14)}`));
    out.push(`evictions ${m.evictions}`);
  }
  out.push(`count ${m.count}`);
  return out;
}

function differential(lru: boolean, maxEntries: number, keys: number, ops: number, seed: number): void {
  const rng = new Rng(seed);
  const type = lru ? BpfMapType.LRU_HASH : BpfMapType.HASH;
  const space = ctTupleSpace(rng, keys, (i) => (i % 3 === 0 ? 17 : 6));
  let ct = new CtHashMap(spec(maxEntries, type));
  let gen: General = lru ? new LruHashMap(spec(maxEntries, type)) : new HashMap(spec(maxEntries, type));
  const value = new Uint8Array(VALUE_SIZE);
  const seen = { full: 0, reverse: 0, clones: 0, peak: 0 };
  for (let op = 0; op < ops; op++) {
    const key = space[rng.below(space.length)];
    const [k0, k1, k2, k3] = words(key);
    const kind = rng.below(100);
    const at = `op ${op} kind ${kind}`;
    if (kind < 20) {
      // ct_lookup4(): the words against the general map's byte-key call.
      const got = ct.lookupTupleOrReverse(k0, k1, k2, k3);
      assert.equal(got, lookupTupleOrReverse(gen, key), at);
      if (got < -1) seen.reverse++;
    } else if (kind < 45 || kind >= 90) {
      const flags = rng.below(10) === 0 ? 9 : rng.below(3);
      const got = ct.reserveTuple(k0, k1, k2, k3, flags);
      assert.equal(got, gen.reserve(key, flags), at);
      if (got === -Errno.E2BIG) seen.full++;
      if (got >= 0) {
        // Something to tell entries apart in the dumps.
        writeU64LE(ct.values, got, op);
        writeU64LE(gen.values, got, op);
      }
    } else if (kind < 60) {
      const flags = rng.below(3);
      writeU64LE(value, 0, rng.u32());
      writeU64LE(value, 8, op);
      assert.equal(ct.update(key, value, flags), gen.update(key, value, flags), at);
    } else if (kind < 67) {
      assert.equal(ct.lookup(key), gen.lookup(key), at);
    } else if (kind < 72) {
      assert.equal(ct.lookupTuple(k0, k1, k2, k3), gen.lookup(key), at);
    } else if (kind < 75) {
      assert.equal(ct.peek(key), gen instanceof LruHashMap ? gen.peek(key) : gen.lookup(key), at);
    } else if (kind < 85) {
      assert.equal(ct.delete(key), gen.delete(key), at);
    } else if (kind < 87) {
      // Carry on with clones; the originals must not see later changes.
      const [oc, og] = [ct, gen];
      const before = dump(oc);
      ct = oc.clone();
      gen = og.clone();
      ct.reserveTuple(k0 ^ 1, k1, k2, k3, 0);
      assert.deepEqual(dump(oc), before, 'a clone shares nothing');
      gen.reserve(ctTupleFromWords(k0 ^ 1, k1, k2, k3), 0);
      seen.clones++;
    } else if (kind < 89) {
      if (rng.below(100) !== 0) continue;
      ct.clear();
      gen.clear();
    } else if (rng.below(20) === 0) {
      // Deletes during a walk.
      let n = 0;
      const victims: Uint8Array[] = [];
      ct.forEach((keys, koff) => {
        if (n++ % 5 === 0) victims.push(keys.slice(koff, koff + 14));
      });
      for (const v of victims) assert.equal(ct.delete(v), gen.delete(v), at);
    }
    assert.equal(ct.count, gen.count, at);
    seen.peak = Math.max(seen.peak, ct.count);
    if (op % 97 === 0) assert.deepEqual(dump(ct), dump(gen), at);
  }
  assert.deepEqual(dump(ct), dump(gen));
  assert.ok(seen.reverse > 10, `reverse hits happened (${seen.reverse})`);
  assert.ok(seen.clones > 10);
  assert.ok(seen.peak > Math.min(maxEntries, keys) / 4, `the map filled up (${seen.peak} entries at most)`);
  if (keys > maxEntries) {
    if (lru) assert.ok(ct.evictions > 100, `a full LRU map evicted (${ct.evictions})`);
    else assert.ok(seen.full > 5, `a full hash map refused inserts (${seen.full})`);
  }
}

function ctTupleFromWords(k0: number, k1: number, k2: number, k3: number): Uint8Array {
  const k = new Uint8Array(14);
  storeTupleKey(k, 0, k0, k1, k2, k3);
  return k;
}

test('CtHashMap = LruHashMap on a small full map: evictions, deletes, clears, clones', () => {
  differential(true, 64, 200, 40_000, 0xc7a1);
});

test('CtHashMap = LruHashMap while storage and index grow', () => {
  differential(true, 5000, 4000, 30_000, 0xc7a2);
});

test('CtHashMap as BPF_MAP_TYPE_HASH = HashMap: a full map refuses with -E2BIG', () => {
  differential(false, 64, 200, 40_000, 0xc7a3);
  differential(false, 5000, 4000, 30_000, 0xc7a4);
});

test('tuple words and key bytes name the same entry; the reverse is found as -2 - offset', () => {
  const m = new CtHashMap(spec(16, BpfMapType.LRU_HASH));
  const k = ctTuple(0x0a000264, 0x0a000132, 8080, 40001, 6, 0);
  const off = m.reserve(k);
  assert.ok(off >= 0);
  assert.equal(m.lookupTuple(...words(k)), off);
  const r = reverseTuple(k);
  assert.equal(m.lookupTupleOrReverse(...words(r)), -2 - off);
  assert.equal(m.lookupTupleOrReverse(...words(k)), off);
  const dumped: string[] = [];
  m.forEach((keys, koff) => dumped.push(hexKey(keys, koff, 14)));
  assert.deepEqual(dumped, [hexKey(k, 0, 14)]);
  assert.equal(readU64LE(m.values, off), 0, 'new values are zero');
});

test('storage grows on demand: a 512k-entry map holding 1,000 tuples stays small', () => {
  const m = new CtHashMap(spec(524_288, BpfMapType.LRU_HASH));
  for (let i = 0; i < 1000; i++) assert.ok(m.reserveTuple(0x0a000264, 0x0a000132, (8080 << 16) | i, 0x600, 0) >= 0);
  assert.equal(m.count, 1000);
  assert.ok(m.values.length <= 1024 * VALUE_SIZE, `values: ${m.values.length} bytes`);
  assert.equal(m.evictions, 0);
});

test('conntrack maps refuse other key sizes, and LRU ones BPF_F_NO_PREALLOC', () => {
  assert.throws(() => new CtHashMap({ ...spec(4, BpfMapType.LRU_HASH), keySize: 16 }), /14-byte/);
  assert.throws(() => new CtHashMap({ ...spec(4, BpfMapType.LRU_HASH), flags: 1 }), /PREALLOC/);
  assert.throws(() => new CtHashMap(spec(4, BpfMapType.HASH)).forEachByRecency(() => undefined), /recency/);
});

test('ct_lookup4 then ct_create4 sequences (the remembered miss and last slot) = LruHashMap, with index changes in between', () => {
  const rng = new Rng(0xc7a5);
  const space = ctTupleSpace(rng, 300, (i) => (i % 2 === 0 ? 6 : 17));
  for (const maxEntries of [40, 4000]) {
    let ct = new CtHashMap(spec(maxEntries, BpfMapType.LRU_HASH));
    let gen = new LruHashMap(spec(maxEntries, BpfMapType.LRU_HASH));
    const related = ctTuple(0x0a000264, 0x0a000132, 0, 0, 1, 4);
    for (let op = 0; op < 20_000; op++) {
      const key = space[rng.below(space.length)];
      const fwd = reverseTuple(key);
      const at = `op ${op}`;
      assert.equal(ct.lookupTupleOrReverse(...words(key)), lookupTupleOrReverse(gen, key), at);
      // Sometimes the index changes between the miss and the create.
      const between = rng.below(12);
      if (between === 0) {
        const k = space[rng.below(space.length)];
        assert.equal(ct.reserve(k), gen.reserve(k), at);
      } else if (between === 1) {
        const k = space[rng.below(space.length)];
        assert.equal(ct.delete(k), gen.delete(k), at);
      } else if (between === 2 && rng.below(50) === 0) {
        ct.clear();
        gen.clear();
      } else if (between === 3 && rng.below(20) === 0) {
        ct = ct.clone();
        gen = gen.clone();
      }
      assert.equal(ct.reserveTuple(...words(fwd), 0), gen.reserve(fwd, 0), at);
      // The related entry: the same key again and again.
      if (rng.below(3) !== 0) assert.equal(ct.reserveTuple(...words(related), 0), gen.reserve(related, 0), at);
      if (op % 199 === 0) assert.deepEqual(dump(ct), dump(gen), at);
    }
    assert.deepEqual(dump(ct), dump(gen));
  }
});

test('the remembered last slot is forgotten by clear, and a deleted or reused slot is not taken for its old key', () => {
  for (const type of [BpfMapType.LRU_HASH, BpfMapType.HASH]) {
    const m = new CtHashMap(spec(8, type));
    const a = words(ctTuple(0x0a000264, 0x0a000132, 0, 0, 1, 4));
    const b = words(ctTuple(0x0a000265, 0x0a000132, 0, 0, 1, 4));
    const off = m.reserveTuple(...a, 0);
    // A second reservation finds the entry, which is then the remembered slot.
    assert.equal(m.reserveTuple(...a, 0), off, 'found');
    writeU64LE(m.values, off, 7);
    m.clear();
    assert.equal(m.count, 0);
    assert.equal(m.reserveTuple(...a, 0), off, 'created again in the first slot');
    assert.equal(m.count, 1, 'a new entry, not a hit on the cleared one');
    assert.equal(readU64LE(m.values, off), 0);
    assert.equal(m.reserveTuple(...a, 0), off, 'found again');
    assert.equal(m.delete(ctTupleFromWords(...a)), 0);
    assert.equal(m.reserveTuple(...b, 0), off, 'b reuses the slot');
    assert.equal(m.lookupTuple(...a), -1);
    assert.equal(m.reserveTuple(...a, 0), off + VALUE_SIZE, 'a is new again');
    assert.equal(m.count, 2);
  }
});
