// PerCpuHashMap.lookupWords2() (the metrics update's lookup, which tries the
// slot of its previous hit first) must answer exactly as lookup() does, through
// inserts, growth, deletes and slot reuse, clear, clone and a full map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerCpuHashMap } from '../../src/bpf/hash.js';
import { Errno } from '../../src/bpf/types.js';
import { Rng } from '../../src/util/rng.js';

/** A metrics-shaped key (two host-order words) as bytes and as its words. */
function key(a: number, b: number): { bytes: Uint8Array; w0: number; w1: number } {
  const words = Int32Array.of(a, b);
  return { bytes: new Uint8Array(words.buffer), w0: words[0]!, w1: words[1]! };
}

type Key = ReturnType<typeof key>;

function agree(m: PerCpuHashMap, keys: Key[]): void {
  for (const k of keys) assert.equal(m.lookupWords2(k.w0, k.w1), m.lookup(k.bytes), `key ${k.w0},${k.w1}`);
}

const spec = (maxEntries: number) => ({ name: 'cilium_metrics', keySize: 8, valueSize: 16, maxEntries });

test('lookupWords2 answers as lookup through inserts, growth, deletes, slot reuse and a full map', () => {
  const rng = new Rng(7);
  const m = new PerCpuHashMap(spec(200), { nCpus: 2 });
  // Words with the sign bit set too (a metrics key's line in the high half).
  const keys = Array.from({ length: 300 }, (_, i) => key(i * 0x10001 + (i % 2 === 0 ? 0 : 0x8000_0000), i % 3));
  let full = 0;
  for (let round = 0; round < 4000; round++) {
    const k = keys[rng.below(keys.length)]!;
    const op = rng.below(10);
    if (op < 4) {
      const off = m.reserve(k.bytes);
      if (off === -Errno.E2BIG) {
        assert.equal(m.count, 200);
        full++;
      } else assert.ok(off >= 0);
    } else if (op < 6) m.delete(k.bytes);
    // The same key twice in a row is the hint's case; a different one in between moves it.
    assert.equal(m.lookupWords2(k.w0, k.w1), m.lookup(k.bytes));
    assert.equal(m.lookupWords2(k.w0, k.w1), m.lookup(k.bytes));
  }
  assert.ok(full > 0, 'the map filled up');
  agree(m, keys);
});

test('a deleted entry is not found at its old slot, nor a different key reusing that slot', () => {
  const m = new PerCpuHashMap(spec(8));
  const a = key(1, 1);
  const b = key(2, 2);
  const offA = m.reserve(a.bytes);
  assert.equal(m.lookupWords2(a.w0, a.w1), offA);
  assert.equal(m.delete(a.bytes), 0);
  assert.equal(m.lookupWords2(a.w0, a.w1), -1);
  const offB = m.reserve(b.bytes);
  assert.equal(offB, offA, 'b reuses the freed slot');
  assert.equal(m.lookupWords2(a.w0, a.w1), -1);
  assert.equal(m.lookupWords2(b.w0, b.w1), offB);
});

test('lookupWords2 after clear and on a clone', () => {
  const m = new PerCpuHashMap(spec(64), { nCpus: 3 });
  const keys = Array.from({ length: 40 }, (_, i) => key(i, 7));
  for (const k of keys) m.reserve(k.bytes);
  agree(m, keys);
  const c = m.clone();
  agree(c, keys);
  m.clear();
  assert.equal(m.lookupWords2(keys[39]!.w0, keys[39]!.w1), -1);
  agree(m, keys);
  agree(c, keys);
  c.delete(keys[39]!.bytes);
  assert.equal(c.lookupWords2(keys[39]!.w0, keys[39]!.w1), -1);
  for (const k of keys.slice(0, 5)) m.reserve(k.bytes);
  agree(m, keys);
});

test('lookupWords2 refuses maps whose keys are not 8 bytes', () => {
  const m = new PerCpuHashMap({ name: 'other', keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.throws(() => m.lookupWords2(1, 0), /8-byte keys/);
});
