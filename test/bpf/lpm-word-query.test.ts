// LpmTrieMap.lookupWords2() and lookupPairWords2() (queries given as two data
// words) must answer exactly as lookup() does for the same key bytes, on the
// scan path (few slots) and the probe path (many), through deletes (dead
// records), growth, clone and clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTrieMap, WORD_QUERIES } from '../../src/bpf/lpm.js';
import { BPF_F_NO_PREALLOC } from '../../src/bpf/types.js';
import { writeU32LE } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';

/** A 12-byte key (prefixlen, two data words: the policy key's shape) or a 24-byte one (the ipcache's). */
function makeMap(keySize: number, maxEntries: number): LpmTrieMap {
  return new LpmTrieMap({ name: 'word_lpm', keySize, valueSize: 4, maxEntries, flags: BPF_F_NO_PREALLOC });
}

function keyOf(keySize: number, len: number, w1: number, w2: number, tail = 0): Uint8Array {
  const k = new Uint8Array(keySize);
  writeU32LE(k, 0, len);
  writeU32LE(k, 4, w1 >>> 0);
  writeU32LE(k, 8, w2 >>> 0);
  // Bytes past the two words: what lookup() ignores at prefixlen ≤ 64.
  for (let i = 12; i < keySize; i++) k[i] = (tail >>> (8 * (i & 3))) & 0xff;
  return k;
}

/** Query words drawn near the stored ones, so that prefixes of every length match some of them. */
function queryWords(rng: Rng, stored: [number, number][]): [number, number] {
  const [a, b] = stored.length && rng.u32() % 4 !== 0 ? stored[rng.u32() % stored.length] : [rng.u32() % 4, rng.u32()];
  const flip = rng.u32() % 3 === 0 ? 1 << rng.u32() % 32 : 0;
  return rng.u32() % 2 ? [a ^ flip, b] : [a, b ^ flip];
}

function check(m: LpmTrieMap, keySize: number, rng: Rng, stored: [number, number][], rounds: number): void {
  const found = new Int32Array(2);
  for (let i = 0; i < rounds; i++) {
    const [w1, w2] = queryWords(rng, stored);
    const alt = rng.u32() % 2 ? 0 : queryWords(rng, stored)[0];
    const limit = [64, 64, 63, 48, 40, 33, 32, 20, 0][rng.u32() % 9];
    const a = m.lookup(keyOf(keySize, limit, w1, w2, rng.u32()));
    const b = m.lookup(keyOf(keySize, limit, alt, w2, rng.u32()));
    assert.equal(m.lookupWords2(limit, w1 | 0, w2 | 0), a, `lookupWords2 /${limit} ${w1} ${w2}`);
    m.lookupPairWords2(limit, w1 | 0, alt | 0, w2 | 0, found);
    assert.deepEqual([found[0], found[1]], [a, b], `lookupPairWords2 /${limit} ${w1} ${alt} ${w2}`);
    // Asked again: the remembered answer.
    assert.equal(m.lookupWords2(limit, w1 | 0, w2 | 0), a);
    found.fill(-7);
    m.lookupPairWords2(limit, w1 | 0, alt | 0, w2 | 0, found);
    assert.deepEqual([found[0], found[1]], [a, b]);
  }
}

for (const keySize of [12, 24]) {
  test(`word queries answer as lookup() (keySize ${keySize}): scan and probe paths, deletes, clone, clear`, { skip: !WORD_QUERIES }, () => {
    const rng = new Rng(keySize);
    const m = makeMap(keySize, 200);
    const entries: Uint8Array[] = [];
    const stored: [number, number][] = [];
    const lens = [0, 1, 8, 16, 31, 32, 33, 40, 48, 56, 63, 64];
    let n = 0;
    // Grow from the scan path (≤ 16 slots) into the probe path, checking on the way.
    for (const target of [3, 10, 16, 17, 60, 150]) {
      while (n < target) {
        const w1 = rng.u32() % 4 === 0 ? 0 : rng.u32() % 8;
        const w2 = rng.u32();
        const k = keyOf(keySize, lens[rng.u32() % lens.length], w1, w2);
        const v = new Uint8Array(4);
        writeU32LE(v, 0, n);
        if (m.update(k, v) === 0) {
          entries.push(k);
          stored.push([w1, w2]);
        }
        n++;
      }
      check(m, keySize, rng, stored, 400);
    }
    // Deletes leave dead records behind for the scans and empty lengths for the probes.
    for (let i = 0; i < entries.length; i += 2) m.delete(entries[i]);
    check(m, keySize, rng, stored, 400);
    const c = m.clone();
    check(c, keySize, rng, stored, 200);
    // Few entries again, in slots past the first 16: the probe path; then a cleared map refills onto the scan path.
    m.clear();
    check(m, keySize, rng, stored, 50);
    for (let i = 0; i < 8; i++) m.update(entries[i], new Uint8Array(4));
    check(m, keySize, rng, stored.slice(0, 8), 300);
    check(c, keySize, rng, stored, 100);
  });
}

test('word queries on keys shorter than two data words ask for at most the data bits', { skip: !WORD_QUERIES }, () => {
  const m = makeMap(8, 16);
  const k = new Uint8Array(8);
  writeU32LE(k, 0, 24);
  k.set([10, 1, 2, 0], 4);
  m.update(k, new Uint8Array(4));
  const w1 = 10 | (1 << 8) | (2 << 16) | (99 << 24);
  assert.equal(m.lookupWords2(64, w1, 12345), 0);
  assert.equal(m.lookupWords2(20, w1, 12345), -1);
});

test('a remembered word-query answer gives way to inserts, deletes, clear; clones answer on their own', { skip: !WORD_QUERIES }, () => {
  for (const fill of [0, 40]) {
    // fill > 4 slots: the probe path.
    const m = makeMap(12, 100);
    for (let i = 0; i < fill; i++) m.update(keyOf(12, 64, 1000 + i, i), new Uint8Array(4));
    const found = new Int32Array(2);
    const w1 = 7;
    const w2 = 0x1234_5678;
    const ask = (mm: LpmTrieMap) => {
      const one = mm.lookupWords2(64, w1, w2);
      mm.lookupPairWords2(64, w1, 0, w2, found);
      assert.equal(one, mm.lookup(keyOf(12, 64, w1, w2)));
      assert.equal(found[0], one);
      assert.equal(found[1], mm.lookup(keyOf(12, 64, 0, w2)));
      return [found[0], found[1]];
    };
    assert.deepEqual(ask(m), [-1, -1]);
    m.update(keyOf(12, 32, w1, 0), new Uint8Array(4));
    const byId = ask(m);
    assert.ok(byId[0] >= 0 && byId[1] === -1);
    m.update(keyOf(12, 48, 0, w2), new Uint8Array(4));
    const any = ask(m)[1];
    assert.ok(any >= 0);
    m.update(keyOf(12, 64, w1, w2), new Uint8Array(4));
    const host = ask(m)[0];
    assert.ok(host >= 0 && host !== byId[0]);
    // Updating an existing entry's value keeps every answer.
    m.update(keyOf(12, 64, w1, w2), new Uint8Array([1, 2, 3, 4]));
    assert.deepEqual(ask(m), [host, any]);
    const c = m.clone();
    m.delete(keyOf(12, 64, w1, w2));
    assert.deepEqual(ask(m), [byId[0], any]);
    assert.deepEqual(ask(c), [host, any]);
    m.delete(keyOf(12, 48, 0, w2));
    assert.deepEqual(ask(m), [byId[0], -1]);
    m.clear();
    assert.deepEqual(ask(m), [-1, -1]);
    assert.deepEqual(ask(c), [host, any]);
    c.clear();
    assert.deepEqual(ask(c), [-1, -1]);
  }
});
