// HashMap.lookup() checks a key built in KEY_SCRATCH against the slot it last
// found and the key it last missed before hashing and probing
// (HashTable.lookupSlot). These tests run the same operations with the keys
// in KEY_SCRATCH (where the memory applies) and in their own buffers (never)
// and require identical answers and contents through inserts, deletes and
// slot reuse, clears, clones, full maps and growth, for whole-word keys and
// keys with a partial last word (junk in the scratch padding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashMap } from '../../src/bpf/hash.js';
import { KEY_SCRATCH } from '../../src/bpf/hash-table.js';
import type { HashTable } from '../../src/bpf/hash-table.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST } from '../../src/bpf/types.js';
import { hexKey } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';

/** `k` in KEY_SCRATCH, with junk in the padding bytes past it (the maps ignore them). */
function inScratch(k: Uint8Array): Uint8Array {
  KEY_SCRATCH.bytes.set(k, 0);
  for (let i = k.length; i < ((k.length + 3) & ~3); i++) KEY_SCRATCH.bytes[i] = 0xa0 | i;
  return KEY_SCRATCH.bytes;
}

/** Whether lookupSlot() will answer `k` from memory: the last hit's live slot holds exactly k, or k was the last miss. */
function remembered(t: HashTable, k: Uint8Array): boolean {
  const last = t['lastSlot'];
  if (last >= 0 && t.live[last] === 1 && k.every((b, i) => t.keys[last * t.recordStride + i] === b)) return true;
  if (!t['missedKnown']) return false;
  const missed = new Uint8Array(t['missedKey'].buffer);
  return k.every((b, i) => missed[i] === b);
}

function dump(m: HashMap, keySize: number): string[] {
  const out: string[] = [];
  m.forEach((keys, koff, voff) => out.push(`${hexKey(keys, koff, keySize)}=${hexKey(m.values, voff, 4)}`));
  return out;
}

/** A key space where keys differ in one or two words (the rest zero, like an IPv4 endpoint_key). */
function keySpace(rng: Rng, n: number, keySize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const k = new Uint8Array(keySize);
    for (let i = 0; i < Math.min(4, keySize); i++) k[i] = rng.below(4) === 0 ? rng.below(256) : i;
    k[keySize - 1] = rng.below(3);
    const s = hexKey(k, 0, keySize);
    if (!seen.has(s)) {
      seen.add(s);
      out.push(k);
    }
  }
  return out;
}

function runDifferential(keySize: number, maxEntries: number, seed: number, ops: number, keys: number): number {
  const rng = new Rng(seed);
  const space = keySpace(rng, keys, keySize);
  const make = () => new HashMap({ name: 'cilium_lxc', keySize, valueSize: 4, maxEntries });
  let fast = make();
  let slow = make();
  let taken = 0;
  const flagsOf = [BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST];
  for (let op = 0; op < ops; op++) {
    const r = rng.below(100);
    // Mostly a few hot keys (a packet stream's destinations), some of them absent.
    const key = rng.below(4) === 0 ? space[rng.below(space.length)] : space[rng.below(4)];
    if (r < 60) {
      if (remembered(fast.table, key)) taken++;
      const got = fast.lookup(inScratch(key));
      assert.equal(got, slow.lookup(key.slice()), `op ${op}: lookup`);
    } else if (r < 75) {
      const v = new Uint8Array(4).fill(op & 0xff);
      const flags = flagsOf[rng.below(flagsOf.length)];
      assert.equal(fast.update(inScratch(key), v, flags), slow.update(key.slice(), v, flags), `op ${op}: update`);
    } else if (r < 90) {
      assert.equal(fast.delete(inScratch(key)), slow.delete(key.slice()), `op ${op}: delete`);
    } else if (r < 97) {
      const f2 = fast.clone();
      const s2 = slow.clone();
      // The original goes on changing; the copy must answer for its own contents.
      const other = space[rng.below(space.length)];
      fast.lookup(inScratch(other));
      slow.lookup(other.slice());
      assert.equal(fast.update(inScratch(other), new Uint8Array(4)), slow.update(other.slice(), new Uint8Array(4)), `op ${op}: update on original`);
      assert.equal(fast.delete(inScratch(key)), slow.delete(key.slice()), `op ${op}: delete on original`);
      fast = f2;
      slow = s2;
    } else if (rng.below(3) === 0) {
      fast.clear();
      slow.clear();
    }
    assert.equal(fast.count, slow.count, `op ${op}: count`);
    if (op % 83 === 0) assert.deepEqual(dump(fast, keySize), dump(slow, keySize), `op ${op}: contents`);
  }
  assert.deepEqual(dump(fast, keySize), dump(slow, keySize));
  return taken;
}

for (const keySize of [20, 6, 13]) {
  test(`${keySize}-byte keys: lookups answered from memory match the general path (full map, deletes, clears, clones)`, () => {
    const taken = runDifferential(keySize, 6, 0x70 + keySize, 20_000, 24);
    assert.ok(taken > 1500, `memory answered (${taken} times)`);
  });
  test(`${keySize}-byte keys: lookups answered from memory match the general path while storage and index grow`, () => {
    const taken = runDifferential(keySize, 4096, 0x80 + keySize, 20_000, 3000);
    assert.ok(taken > 1500, `memory answered (${taken} times)`);
  });
}

test('lookup memory: the last hit while its slot holds the key, the last miss until an insert', () => {
  const m = new HashMap({ name: 'cilium_lxc', keySize: 20, valueSize: 4, maxEntries: 2 });
  const t = m.table;
  const key = (b: number) => Uint8Array.from({ length: 20 }, (_, i) => (i === 0 ? b : i === 16 ? 1 : 0));
  const [a, b, c] = [key(1), key(2), key(3)];
  assert.equal(m.update(a, Uint8Array.of(1, 0, 0, 0)), 0);
  assert.equal(m.lookup(inScratch(b)), -1);
  assert.equal(remembered(t, b), true, 'a miss is remembered');
  // Deleting or clearing cannot make a missed key present: still remembered.
  m.delete(a);
  assert.equal(remembered(t, b), true);
  assert.equal(m.lookup(inScratch(b)), -1);
  // An insert (of any key) forgets it, and the key is then found.
  assert.equal(m.update(b, Uint8Array.of(2, 0, 0, 0)), 0);
  assert.equal(t['missedKnown'], false, 'an insert forgets the miss');
  const offB = m.lookup(inScratch(b));
  assert.ok(offB >= 0);
  assert.equal(remembered(t, b), true, 'a hit is remembered');
  assert.equal(m.lookup(inScratch(b)), offB);
  // Its slot freed: not live. Reused by another key: that key's entry, and b is absent.
  m.delete(b);
  assert.equal(remembered(t, b), false);
  assert.equal(m.lookup(inScratch(b)), -1);
  m.update(c, Uint8Array.of(3, 0, 0, 0));
  assert.equal(m.lookup(inScratch(b)), -1);
  assert.equal(m.values[m.lookup(inScratch(c))], 3);
  assert.equal(m.lookup(inScratch(a)), -1);
  // A full map refuses a new key: -E2BIG, and the miss stays true.
  m.update(a, Uint8Array.of(1, 0, 0, 0));
  assert.equal(m.lookup(inScratch(b)), -1);
  assert.equal(m.update(b, Uint8Array.of(2, 0, 0, 0)), -7);
  assert.equal(m.lookup(inScratch(b)), -1);
  // A clone starts without memory and answers for its own contents.
  const copy = m.clone();
  assert.equal(remembered(copy.table, b), false);
  m.clear();
  assert.ok(copy.lookup(inScratch(a)) >= 0);
  assert.equal(m.lookup(inScratch(a)), -1);
});
