import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HashMap, PerCpuHashMap } from '../../src/bpf/hash.js';
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, Errno } from '../../src/bpf/types.js';
import { hexKey, readU32LE, readU64LE, writeU64LE } from '../../src/bpf/bytes.js';
import { Rng } from '../../src/util/rng.js';
import { ctTuple, u32Key, valueOf } from './helpers.js';

const spec = (maxEntries: number, keySize = 4, valueSize = 8) => ({ name: 'test_hash', keySize, valueSize, maxEntries });

test('lookup returns the value offset; missing keys give -1', () => {
  const m = new HashMap(spec(8));
  assert.equal(m.lookup(u32Key(1)), -1);
  assert.equal(m.update(u32Key(1), valueOf(8, 0xaa)), 0);
  const off = m.lookup(u32Key(1));
  assert.ok(off >= 0);
  assert.deepEqual([...m.values.subarray(off, off + 8)], Array(8).fill(0xaa));
  assert.equal(m.count, 1);
  assert.equal(m.spec.type, 1);
});

test('a full map refuses a new key with -E2BIG, changes nothing, and still updates existing keys', () => {
  const m = new HashMap(spec(3));
  for (let i = 0; i < 3; i++) assert.equal(m.update(u32Key(i), valueOf(8, i)), 0);
  assert.equal(m.update(u32Key(99), valueOf(8, 9)), -Errno.E2BIG);
  assert.equal(m.reserve(u32Key(99)), -Errno.E2BIG);
  assert.equal(m.count, 3);
  assert.equal(m.lookup(u32Key(99)), -1);
  for (let i = 0; i < 3; i++) assert.equal(m.values[m.lookup(u32Key(i))], i);
  assert.equal(m.update(u32Key(1), valueOf(8, 0x55)), 0);
  assert.equal(m.values[m.lookup(u32Key(1))], 0x55);
  // BPF_EXIST on a missing key is -ENOENT even when full (flags are checked first, as in the kernel).
  assert.equal(m.update(u32Key(99), valueOf(8, 1), BPF_EXIST), -Errno.ENOENT);
  // Deleting frees a slot for a new key.
  assert.equal(m.delete(u32Key(0)), 0);
  assert.equal(m.update(u32Key(99), valueOf(8, 9)), 0);
  assert.equal(m.values[m.lookup(u32Key(99))], 9);
});

test('BPF_NOEXIST / BPF_EXIST / bad flags', () => {
  const m = new HashMap(spec(4));
  assert.equal(m.update(u32Key(5), valueOf(8, 1), BPF_EXIST), -Errno.ENOENT);
  assert.equal(m.update(u32Key(5), valueOf(8, 1), BPF_NOEXIST), 0);
  assert.equal(m.update(u32Key(5), valueOf(8, 2), BPF_NOEXIST), -Errno.EEXIST);
  assert.equal(m.values[m.lookup(u32Key(5))], 1, 'a refused update leaves the value alone');
  assert.equal(m.update(u32Key(5), valueOf(8, 3), BPF_EXIST), 0);
  assert.equal(m.values[m.lookup(u32Key(5))], 3);
  assert.equal(m.update(u32Key(5), valueOf(8, 4), 7), -Errno.EINVAL);
  assert.equal(m.reserve(u32Key(6), BPF_EXIST), -Errno.ENOENT);
  assert.equal(m.reserve(u32Key(5), BPF_NOEXIST), -Errno.EEXIST);
  assert.equal(m.count, 1);
});

test('reserve zero-fills new entries (also on slot reuse) and returns existing ones as they are', () => {
  const m = new HashMap(spec(2));
  assert.equal(m.update(u32Key(1), valueOf(8, 0xff)), 0);
  assert.equal(m.delete(u32Key(1)), 0);
  const off = m.reserve(u32Key(2), BPF_ANY);
  assert.ok(off >= 0);
  assert.deepEqual([...m.values.subarray(off, off + 8)], Array(8).fill(0), 'reused slot is zeroed');
  m.view.setUint32(off, 0xdeadbeef, true);
  assert.equal(m.reserve(u32Key(2)), off);
  assert.equal(m.view.getUint32(m.lookup(u32Key(2)), true), 0xdeadbeef);
});

test('delete of a missing key is -ENOENT; delete then reinsert works', () => {
  const m = new HashMap(spec(4));
  assert.equal(m.delete(u32Key(1)), -Errno.ENOENT);
  m.update(u32Key(1), valueOf(8, 1));
  assert.equal(m.delete(u32Key(1)), 0);
  assert.equal(m.delete(u32Key(1)), -Errno.ENOENT);
  assert.equal(m.lookup(u32Key(1)), -1);
  assert.equal(m.update(u32Key(1), valueOf(8, 2)), 0);
  assert.equal(m.values[m.lookup(u32Key(1))], 2);
  assert.equal(m.count, 1);
});

test('keys at an offset inside a bigger buffer, values from an offset', () => {
  const m = new HashMap(spec(4, 14, 4));
  const packet = new Uint8Array(64);
  packet.set(ctTuple(0x0a000001, 0x0a000002, 80, 40000), 20);
  const src = new Uint8Array([9, 9, 1, 2, 3, 4]);
  assert.equal(m.update(packet, src, BPF_ANY, 20, 2), 0);
  const off = m.lookup(ctTuple(0x0a000001, 0x0a000002, 80, 40000));
  assert.deepEqual([...m.values.subarray(off, off + 4)], [1, 2, 3, 4]);
  assert.equal(m.lookup(packet, 20), off);
  assert.equal(m.delete(packet, 20), 0);
});

test('forEach visits each entry once and tolerates deleting the current entry', () => {
  const m = new HashMap(spec(64));
  for (let i = 0; i < 50; i++) m.update(u32Key(i), valueOf(8, i));
  const seen: number[] = [];
  m.forEach((keys, keyOff, valueOff) => {
    const k = readU32LE(keys, keyOff);
    assert.equal(m.values[valueOff], k);
    seen.push(k);
    if (k % 2 === 0) assert.equal(m.delete(keys.slice(keyOff, keyOff + 4)), 0);
  });
  assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.equal(m.count, 25);
  for (let i = 0; i < 50; i++) assert.equal(m.lookup(u32Key(i)) >= 0, i % 2 === 1);
});

test('clear empties the map and clone is independent', () => {
  const m = new HashMap(spec(8));
  m.update(u32Key(1), valueOf(8, 1));
  m.update(u32Key(2), valueOf(8, 2));
  const c = m.clone();
  c.update(u32Key(1), valueOf(8, 7));
  c.delete(u32Key(2));
  c.update(u32Key(3), valueOf(8, 3));
  assert.equal(m.values[m.lookup(u32Key(1))], 1);
  assert.ok(m.lookup(u32Key(2)) >= 0);
  assert.equal(m.lookup(u32Key(3)), -1);
  assert.equal(c.values[c.lookup(u32Key(1))], 7);
  assert.equal(c.count, 2);
  m.clear();
  assert.equal(m.count, 0);
  assert.equal(m.lookup(u32Key(1)), -1);
  assert.equal(c.count, 2);
  for (let i = 0; i < 8; i++) assert.equal(m.update(u32Key(100 + i), valueOf(8, i)), 0);
  assert.equal(m.update(u32Key(200), valueOf(8, 0)), -Errno.E2BIG);
});

test('value offsets stay put while the map grows its index and other keys come and go', () => {
  const m = new HashMap(spec(20_000));
  const first = m.reserve(u32Key(0xabcdef));
  m.view.setUint32(first, 0x12345678, true);
  for (let i = 0; i < 19_000; i++) assert.equal(m.update(u32Key(i), valueOf(8, i & 0xff)), 0);
  for (let i = 0; i < 19_000; i += 3) assert.equal(m.delete(u32Key(i)), 0);
  assert.equal(m.lookup(u32Key(0xabcdef)), first);
  assert.equal(m.view.getUint32(first, true), 0x12345678);
  for (let i = 0; i < 19_000; i++) {
    const off = m.lookup(u32Key(i));
    if (i % 3 === 0) assert.equal(off, -1);
    else assert.equal(m.values[off], i & 0xff);
  }
});

test('bad specs are refused at construction', () => {
  assert.throws(() => new HashMap({ name: 'x', keySize: 0, valueSize: 4, maxEntries: 1 }));
  assert.throws(() => new HashMap({ name: 'x', keySize: 4, valueSize: 4, maxEntries: 0 }));
  assert.throws(() => new HashMap({ name: 'x', type: 9, keySize: 4, valueSize: 4, maxEntries: 1 }));
});

test('differential: 100k random operations against a Map model (14-byte keys, full-map pressure)', () => {
  const rng = new Rng(0xc0ffee);
  const maxEntries = 300;
  const keySpace = Array.from({ length: 600 }, (_, i) => ctTuple(rng.u32(), rng.u32(), i & 0xffff, rng.below(65536), 6 + (i & 1)));
  const m = new HashMap(spec(maxEntries, 14, 8));
  const model = new Map<string, number>();
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
      else if (!present && model.size >= maxEntries) expected = -Errno.E2BIG;
      assert.equal(m.update(key, value, flags), expected, `op ${op} update`);
      if (expected === 0) model.set(hk, v);
    } else if (kind < 6) {
      const present = model.has(hk);
      assert.equal(m.delete(key), present ? 0 : -Errno.ENOENT, `op ${op} delete`);
      model.delete(hk);
    } else if (kind < 7) {
      const off = m.reserve(key);
      if (model.has(hk)) assert.equal(readU64LE(m.values, off), model.get(hk));
      else if (model.size >= maxEntries) assert.equal(off, -Errno.E2BIG);
      else {
        assert.equal(readU64LE(m.values, off), 0);
        model.set(hk, 0);
      }
    } else {
      const off = m.lookup(key);
      if (model.has(hk)) assert.equal(readU64LE(m.values, off), model.get(hk), `op ${op} lookup`);
      else assert.equal(off, -1, `op ${op} lookup miss`);
    }
    assert.equal(m.count, model.size);
    if (op % 10_000 === 0) {
      const dumped = new Map<string, number>();
      m.forEach((keys, keyOff, valueOff) => dumped.set(hexKey(keys, keyOff, 14), readU64LE(m.values, valueOff)));
      assert.deepEqual(dumped, model);
    }
  }
});

test('percpu hash: nCpus values per entry, program ops act on CPU 0', () => {
  const m = new PerCpuHashMap({ name: 'cilium_metrics', keySize: 8, valueSize: 16, maxEntries: 4 }, { nCpus: 3 });
  assert.equal(m.spec.type, 5);
  const key = new Uint8Array(8);
  key[0] = 133;
  const off = m.reserve(key);
  assert.ok(off >= 0);
  writeU64LE(m.values, off, 5);
  writeU64LE(m.values, m.valueOffsetForCpu(off, 2), 7);
  assert.equal(m.lookup(key), off);
  assert.equal(m.lookupPerCpu(key, 2), m.valueOffsetForCpu(off, 2));
  assert.equal(m.lookupPerCpu(key, 3), -1);
  const v = new Uint8Array(16);
  writeU64LE(v, 0, 11);
  assert.equal(m.updatePerCpu(key, v, 1), 0);
  let sum = 0;
  m.forEach((_k, _ko, valueOff) => {
    for (let cpu = 0; cpu < m.nCpus; cpu++) sum += readU64LE(m.values, m.valueOffsetForCpu(valueOff, cpu));
  });
  assert.equal(sum, 5 + 11 + 7);
  const c = m.clone();
  writeU64LE(c.values, c.lookup(key), 100);
  assert.equal(readU64LE(m.values, m.lookup(key)), 5);
  for (let i = 1; i < 4; i++) {
    key[0] = i;
    assert.equal(m.update(key, v), 0);
  }
  key[0] = 200;
  assert.equal(m.update(key, v), -Errno.E2BIG);
});

test('valueWords is the values as host-order words: after growth, clear and in clones', () => {
  const m = new HashMap(spec(100, 4, 12));
  const offs: number[] = [];
  for (let i = 0; i < 100; i++) offs.push(m.reserve(u32Key(i))); // grows the storage several times
  for (let i = 0; i < 100; i++) m.valueWords[(offs[i] >> 2) + 1] = i * 0x01010101;
  const check = (x: HashMap) => {
    assert.equal(x.valueWords.buffer, x.values.buffer);
    for (let i = 0; i < 100; i++) assert.deepEqual([...x.values.subarray(offs[i] + 4, offs[i] + 8)], Array(4).fill(i), `entry ${i}`);
  };
  check(m);
  const c = m.clone();
  check(c);
  c.valueWords[1] = -1;
  assert.equal(m.values[4], 0, 'the clone has its own words');
  m.clear();
  assert.equal(m.valueWords.buffer, m.values.buffer);
});
