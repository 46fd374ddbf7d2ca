// PerCpuHashMap.lookupScratch() (the metrics update's lookup, which tries the
// slot of its previous hit first) must answer exactly as lookup() does, through
// inserts, growth, deletes and slot reuse, clear, clone and a full map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerCpuHashMap } from '../../src/bpf/hash.js';
import { KEY_SCRATCH } from '../../src/bpf/hash-table.js';
import { Errno } from '../../src/bpf/types.js';
import { Rng } from '../../src/util/rng.js';

/** A metrics-shaped key (two words) as bytes. */
function key(a: number, b: number): Uint8Array {
  const k = new Uint8Array(8);
  const v = new DataView(k.buffer);
  v.setUint32(0, a >>> 0, true);
  v.setUint32(4, b >>> 0, true);
  return k;
}

/** Build `k` in the scratch as updateMetrics does and ask lookupScratch(). */
function viaScratch(m: PerCpuHashMap, k: Uint8Array): number {
  KEY_SCRATCH.bytes.set(k, 0);
  return m.lookupScratch();
}

function agree(m: PerCpuHashMap, keys: Uint8Array[]): void {
  for (const k of keys) assert.equal(viaScratch(m, k), m.lookup(k), `key ${[...k]}`);
}

const spec = (maxEntries: number) => ({ name: 'cilium_metrics', keySize: 8, valueSize: 16, maxEntries });

test('lookupScratch answers as lookup through inserts, growth, deletes, slot reuse and a full map', () => {
  const rng = new Rng(7);
  const m = new PerCpuHashMap(spec(200), { nCpus: 2 });
  const keys = Array.from({ length: 300 }, (_, i) => key(i * 0x10001, i % 3));
  for (let round = 0; round < 4000; round++) {
    const k = keys[rng.below(keys.length)]!;
    const op = rng.below(10);
    if (op < 4) {
      const off = m.reserve(k);
      assert.ok(off >= 0 || off === -Errno.E2BIG);
      if (off === -Errno.E2BIG) assert.equal(m.count, 200);
    } else if (op < 6) m.delete(k);
    // The same key twice in a row is the hint's case; a different one in between moves it.
    assert.equal(viaScratch(m, k), m.lookup(k));
    assert.equal(viaScratch(m, k), m.lookup(k));
  }
  agree(m, keys);
});

test('a deleted entry is not found at its old slot, nor a different key reusing that slot', () => {
  const m = new PerCpuHashMap(spec(8));
  const a = key(1, 1);
  const b = key(2, 2);
  const offA = m.reserve(a);
  assert.equal(viaScratch(m, a), offA);
  assert.equal(m.delete(a), 0);
  assert.equal(viaScratch(m, a), -1);
  const offB = m.reserve(b);
  assert.equal(offB, offA, 'b reuses the freed slot');
  assert.equal(viaScratch(m, a), -1);
  assert.equal(viaScratch(m, b), offB);
});

test('lookupScratch after clear and on a clone', () => {
  const m = new PerCpuHashMap(spec(64), { nCpus: 3 });
  const keys = Array.from({ length: 40 }, (_, i) => key(i, 7));
  for (const k of keys) m.reserve(k);
  agree(m, keys);
  const c = m.clone();
  agree(c, keys);
  m.clear();
  assert.equal(viaScratch(m, keys[39]!), -1);
  agree(m, keys);
  agree(c, keys);
  c.delete(keys[39]!);
  assert.equal(viaScratch(c, keys[39]!), -1);
  for (const k of keys.slice(0, 5)) m.reserve(k);
  agree(m, keys);
});
