// HashMap.lookupWords5() (a 20-byte key given as five host-order words, as
// cilium_lxc and cilium_tunnel_map lookups pass them) must answer exactly as
// lookup() of the same key bytes, through inserts, deletes and slot reuse,
// growth, a full map, clone and clear, whether its remembered slot / missed
// key answers or the index does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashMap } from '../../src/bpf/hash.js';
import { KEY_SCRATCH } from '../../src/bpf/hash-table.js';
import { WORD_QUERIES } from '../../src/bpf/lpm.js';
import { BPF_NOEXIST } from '../../src/bpf/types.js';
import { Rng } from '../../src/util/rng.js';

function words(k: Uint8Array): number[] {
  const v = new DataView(k.buffer, k.byteOffset, 20);
  return [0, 4, 8, 12, 16].map((o) => v.getInt32(o, true));
}

/** Keys like endpoint_key: an address word, zeros, a family word; a few differ elsewhere too. */
function keySpace(rng: Rng, n: number): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const k = new Uint8Array(20);
    const v = new DataView(k.buffer);
    v.setUint32(0, (0x0a000000 | (rng.u32() % 512)) >>> 0);
    k[16] = i % 7 === 0 ? 2 : 1;
    if (i % 11 === 0) k[5] = 1 + (rng.u32() % 3);
    keys.push(k);
  }
  return keys;
}

function lookupBoth(m: HashMap, k: Uint8Array, msg: string): number {
  const [a, b, c, d, e] = words(k);
  const byWords = m.lookupWords5(a, b, c, d, e);
  // Both the plain path (own buffer) and the scratch path (which shares the remembered slot and miss).
  assert.equal(byWords, m.lookup(k.slice()), msg);
  KEY_SCRATCH.bytes.set(k, 0);
  assert.equal(byWords, m.lookup(KEY_SCRATCH.bytes), msg);
  return byWords;
}

test('lookupWords5 answers as lookup() through inserts, deletes, reuse, growth, full, clone, clear', { skip: !WORD_QUERIES }, () => {
  const rng = new Rng(7);
  const keys = keySpace(rng, 300);
  const m = new HashMap({ name: 'words5', keySize: 20, valueSize: 8, maxEntries: 100 });
  let present = 0;
  for (let round = 0; round < 3000; round++) {
    const k = keys[rng.u32() % keys.length];
    const op = rng.u32() % 10;
    if (op < 3) {
      const r = m.update(k, new Uint8Array(8).fill(round & 0xff), BPF_NOEXIST);
      if (r === 0) present++;
    } else if (op < 4) {
      if (m.delete(k) === 0) present--;
    } else {
      // The same key twice: the second answer comes from the remembered slot or miss.
      lookupBoth(m, k, `round ${round}`);
      lookupBoth(m, k, `round ${round} again`);
    }
    if (round === 1500) {
      const c = m.clone();
      for (const q of keys.slice(0, 60)) assert.equal(c.lookupWords5(...(words(q) as [number, number, number, number, number])), m.lookup(q.slice()));
    }
    if (round === 2000) {
      m.clear();
      present = 0;
      for (const q of keys.slice(0, 20)) assert.equal(lookupBoth(m, q, 'after clear'), -1);
    }
  }
  assert.equal(m.count, present);
  assert.ok(present > 0);
});

test('lookupWords5 refuses keys that are not 20 bytes', { skip: !WORD_QUERIES }, () => {
  const m = new HashMap({ name: 'k16', keySize: 16, valueSize: 4, maxEntries: 4 });
  assert.throws(() => m.lookupWords5(1, 0, 0, 0, 1), /20-byte keys/);
});

test('lookupWords5 forgets the slot it found when that slot is freed or the map cleared, and the key it missed at an insert', { skip: !WORD_QUERIES }, () => {
  const [a, b] = keySpace(new Rng(11), 2) as [Uint8Array, Uint8Array];
  const wa = words(a) as [number, number, number, number, number];
  const wb = words(b) as [number, number, number, number, number];
  const m = new HashMap({ name: 'words5-forget', keySize: 20, valueSize: 8, maxEntries: 4 });
  assert.equal(m.update(a, new Uint8Array(8), BPF_NOEXIST), 0);
  const off = m.lookupWords5(...wa);
  assert.ok(off >= 0);
  // a's slot is freed and taken by b: a is gone, not found in b's slot.
  assert.equal(m.delete(a), 0);
  assert.equal(m.update(b, new Uint8Array(8), BPF_NOEXIST), 0);
  assert.equal(m.lookup(b.slice()), off, 'b reuses the slot');
  assert.equal(m.lookupWords5(...wa), -1);
  assert.equal(m.lookupWords5(...wb), off);
  // Found, then the map cleared and the slot filled by a.
  m.clear();
  assert.equal(m.update(a, new Uint8Array(8), BPF_NOEXIST), 0);
  assert.equal(m.lookupWords5(...wb), -1, 'b is gone after the clear');
  // b missed, then inserted: found.
  assert.equal(m.update(b, new Uint8Array(8), BPF_NOEXIST), 0);
  assert.ok(m.lookupWords5(...wb) >= 0);
});
