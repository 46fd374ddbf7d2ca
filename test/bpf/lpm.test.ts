import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LpmTrieMap } from '../../src/bpf/lpm.js';
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, Errno } from '../../src/bpf/types.js';
import { readU32BE, readU32LE, writeU16LE, writeU32BE, writeU32LE } from '../../src/bpf/bytes.js';
import { KEY_SCRATCH } from '../../src/bpf/hash-table.js';
import { Rng } from '../../src/util/rng.js';
import { ipv4 } from './helpers.js';

function v4Map(maxEntries = 64): LpmTrieMap {
  return new LpmTrieMap({ name: 'test_lpm', keySize: 8, valueSize: 4, maxEntries, flags: BPF_F_NO_PREALLOC });
}

/** `struct { u32 prefixlen; u8 addr[4]; }` */
function v4Key(cidr: string): Uint8Array {
  const [addr, len] = cidr.split('/');
  const k = new Uint8Array(8);
  writeU32LE(k, 0, len === undefined ? 32 : Number(len));
  k.set(ipv4(addr), 4);
  return k;
}

function tag(n: number): Uint8Array {
  const v = new Uint8Array(4);
  writeU32LE(v, 0, n);
  return v;
}

function match(m: LpmTrieMap, key: Uint8Array): number {
  const off = m.lookup(key);
  return off < 0 ? -1 : readU32LE(m.values, off);
}

test('longest prefix wins across /0, /8, /24, /32 and overlapping prefixes', () => {
  const m = v4Map();
  assert.equal(m.update(v4Key('0.0.0.0/0'), tag(0)), 0);
  assert.equal(m.update(v4Key('10.0.0.0/8'), tag(8)), 0);
  assert.equal(m.update(v4Key('10.1.2.0/24'), tag(24)), 0);
  assert.equal(m.update(v4Key('10.1.2.3/32'), tag(32)), 0);
  assert.equal(m.update(v4Key('10.1.0.0/16'), tag(16)), 0);
  assert.deepEqual(m.prefixLengths(), [32, 24, 16, 8, 0]);
  assert.equal(match(m, v4Key('10.1.2.3')), 32);
  assert.equal(match(m, v4Key('10.1.2.4')), 24);
  assert.equal(match(m, v4Key('10.1.3.4')), 16);
  assert.equal(match(m, v4Key('10.200.0.1')), 8);
  assert.equal(match(m, v4Key('192.168.1.1')), 0);
  // The query's own prefixlen bounds the match, as in the kernel.
  assert.equal(match(m, v4Key('10.1.2.3/20')), 16);
  assert.equal(match(m, v4Key('10.1.2.3/7')), 0);
});

test('deleting one prefix falls back to the next longest', () => {
  const m = v4Map();
  m.update(v4Key('10.0.0.0/8'), tag(8));
  m.update(v4Key('10.1.2.0/24'), tag(24));
  m.update(v4Key('10.1.2.3/32'), tag(32));
  assert.equal(m.delete(v4Key('10.1.2.3/32')), 0);
  assert.equal(match(m, v4Key('10.1.2.3')), 24);
  assert.equal(m.delete(v4Key('10.1.2.0/24')), 0);
  assert.equal(match(m, v4Key('10.1.2.3')), 8);
  assert.deepEqual(m.prefixLengths(), [8]);
  assert.equal(m.delete(v4Key('10.0.0.0/8')), 0);
  assert.equal(match(m, v4Key('10.1.2.3')), -1);
  assert.deepEqual(m.prefixLengths(), []);
  assert.equal(m.delete(v4Key('10.0.0.0/8')), -Errno.ENOENT);
});

test('update/delete match exactly on (prefixlen, masked data); flags; -EINVAL beyond the data bits', () => {
  const m = v4Map();
  assert.equal(m.update(v4Key('10.1.2.77/24'), tag(1)), 0, 'host bits are masked off');
  assert.equal(m.update(v4Key('10.1.2.0/24'), tag(2), BPF_NOEXIST), -Errno.EEXIST);
  assert.equal(m.update(v4Key('10.1.2.0/25'), tag(3), BPF_EXIST), -Errno.ENOENT);
  assert.equal(m.update(v4Key('10.1.2.200/24'), tag(4), BPF_EXIST), 0);
  assert.equal(m.count, 1);
  assert.equal(readU32LE(m.values, m.lookupExact(v4Key('10.1.2.0/24'))), 4);
  assert.equal(m.lookupExact(v4Key('10.1.2.0/23')), -1);
  assert.equal(m.update(v4Key('10.1.2.0/33'), tag(5)), -Errno.EINVAL);
  assert.equal(m.delete(v4Key('10.1.2.0/33')), -Errno.EINVAL);
  assert.equal(m.reserve(v4Key('10.1.2.0/33')), -Errno.EINVAL);
  assert.equal(m.update(v4Key('10.1.2.0/24'), tag(5), 4), -Errno.EINVAL);
  assert.equal(m.delete(v4Key('10.1.2.99/24')), 0, 'delete masks too');
  assert.equal(m.count, 0);
});

test('prefixes that are not byte aligned', () => {
  const m = v4Map();
  m.update(v4Key('172.16.0.0/12'), tag(12));
  m.update(v4Key('10.0.0.2/31'), tag(31));
  m.update(v4Key('128.0.0.0/1'), tag(1));
  assert.equal(match(m, v4Key('172.31.255.255')), 12);
  assert.equal(match(m, v4Key('172.32.0.0')), 1);
  assert.equal(match(m, v4Key('10.0.0.3')), 31);
  assert.equal(match(m, v4Key('10.0.0.4')), -1);
  assert.equal(match(m, v4Key('127.255.255.255')), -1);
  const dumped: string[] = [];
  m.forEach((keys, off) => dumped.push(`${keys.subarray(off + 4, off + 8).join('.')}/${readU32LE(keys, off)}`));
  assert.deepEqual(dumped.sort(), ['10.0.0.2/31', '128.0.0.0/1', '172.16.0.0/12']);
});

test('a full trie refuses a new prefix with -ENOSPC but updates existing ones', () => {
  const m = v4Map(2);
  m.update(v4Key('10.0.0.0/8'), tag(1));
  m.update(v4Key('11.0.0.0/8'), tag(2));
  assert.equal(m.update(v4Key('12.0.0.0/8'), tag(3)), -Errno.ENOSPC);
  assert.equal(m.update(v4Key('11.0.0.0/8'), tag(4)), 0);
  assert.equal(match(m, v4Key('11.1.1.1')), 4);
  assert.deepEqual(m.prefixLengths(), [8]);
});

test('LPM tries need BPF_F_NO_PREALLOC and a sane key size', () => {
  assert.throws(() => new LpmTrieMap({ name: 'x', keySize: 8, valueSize: 4, maxEntries: 4 }));
  assert.throws(() => new LpmTrieMap({ name: 'x', keySize: 4, valueSize: 4, maxEntries: 4, flags: BPF_F_NO_PREALLOC }));
});

// cilium_ipcache: prefixlen, cluster_id u16, pad u8, family u8, ip[16]. prefixlen includes the 32 bits before the IP.
const IPCACHE_KEY = 24;
function ipcacheKey(ip: string, ipPrefix: number, family = 1, clusterId = 0): Uint8Array {
  const k = new Uint8Array(IPCACHE_KEY);
  writeU32LE(k, 0, 32 + ipPrefix);
  writeU16LE(k, 4, clusterId);
  k[7] = family;
  if (family === 1) k.set(ipv4(ip), 8);
  else k.set(ip.split(':').map((h) => parseInt(h, 16)).flatMap((w) => [w >> 8, w & 0xff]), 8);
  return k;
}

test('ipcache-shaped keys: host entries, CIDRs, world, and families kept apart', () => {
  const m = new LpmTrieMap({ name: 'cilium_ipcache', keySize: IPCACHE_KEY, valueSize: 12, maxEntries: 512000, flags: BPF_F_NO_PREALLOC });
  const info = (identity: number, tunnel: string) => {
    const v = new Uint8Array(12);
    writeU32LE(v, 0, identity);
    v.set(ipv4(tunnel), 4);
    return v;
  };
  for (let i = 1; i <= 200; i++) assert.equal(m.update(ipcacheKey(`10.0.${i >> 8}.${i & 255}`, 32), info(10000 + i, '192.168.1.11')), 0);
  m.update(ipcacheKey('0.0.0.0', 0), info(2, '0.0.0.0')); // world
  m.update(ipcacheKey('10.0.0.0', 16), info(6, '0.0.0.0')); // remote node / cluster CIDR
  m.update(ipcacheKey('0:0:0:0:0:0:0:0', 0, 2), info(9, '0.0.0.0')); // world-ipv6
  const identity = (k: Uint8Array) => {
    const off = m.lookup(k);
    return off < 0 ? -1 : m.view.getUint32(off, true);
  };
  assert.equal(identity(ipcacheKey('10.0.0.7', 32)), 10007);
  assert.equal(readU32BE(m.values, m.lookup(ipcacheKey('10.0.0.7', 32)) + 4), readU32BE(new Uint8Array(ipv4('192.168.1.11')), 0));
  assert.equal(identity(ipcacheKey('10.0.9.9', 32)), 6);
  assert.equal(identity(ipcacheKey('8.8.8.8', 32)), 2);
  assert.equal(identity(ipcacheKey('2001:db8:0:0:0:0:0:1', 128, 2)), 9);
  // A lookup in another cluster id only matches prefixes short enough to skip the cluster id.
  assert.equal(identity(ipcacheKey('10.0.0.7', 32, 1, 7)), -1);
  assert.deepEqual(m.prefixLengths(), [64, 48, 32]);
  const c = m.clone();
  assert.equal(c.delete(ipcacheKey('10.0.0.7', 32)), 0);
  assert.equal(identity(ipcacheKey('10.0.0.7', 32)), 10007, 'clone is independent');
  assert.equal(c.view.getUint32(c.lookup(ipcacheKey('10.0.0.7', 32)), true), 6);
});

test('randomised: LPM agrees with a brute-force longest-prefix search', () => {
  const rng = new Rng(0x1b3);
  const m = v4Map(400);
  const model = new Map<string, { addr: number; len: number; tag: number }>();
  const norm = (addr: number, len: number) => (len === 0 ? 0 : (addr & (~0 << (32 - len))) >>> 0);
  const key = new Uint8Array(8);
  const setKey = (addr: number, len: number) => {
    writeU32LE(key, 0, len);
    writeU32BE(key, 4, addr);
    return key;
  };
  // Few distinct top bits so prefixes overlap a lot.
  const randomAddr = () => ((rng.below(4) << 30) | (rng.below(4) << 20) | rng.below(1 << 12)) >>> 0;
  for (let op = 0; op < 20_000; op++) {
    const addr = randomAddr();
    const len = rng.below(33);
    const id = `${norm(addr, len)}/${len}`;
    const kind = rng.below(4);
    if (kind === 0) {
      const t = rng.u32();
      const full = !model.has(id) && model.size >= 400;
      assert.equal(m.update(setKey(addr, len), tag(t)), full ? -Errno.ENOSPC : 0);
      if (!full) model.set(id, { addr: norm(addr, len), len, tag: t });
    } else if (kind === 1) {
      assert.equal(m.delete(setKey(addr, len)), model.has(id) ? 0 : -Errno.ENOENT);
      model.delete(id);
    } else {
      let best: { len: number; tag: number } | undefined;
      for (const e of model.values()) {
        if (norm(addr, e.len) === e.addr && (best === undefined || e.len > best.len)) best = e;
      }
      assert.equal(match(m, setKey(addr, 32)), best ? best.tag : -1, `op ${op}`);
    }
    assert.equal(m.count, model.size);
  }
});

test('randomised, few entries (the map scans its records): longest match within the query prefixlen', () => {
  const rng = new Rng(0x5ca1);
  const m = v4Map(12);
  const model = new Map<string, { addr: number; len: number; tag: number }>();
  const norm = (addr: number, len: number) => (len === 0 ? 0 : (addr & (~0 << (32 - len))) >>> 0);
  const key = new Uint8Array(8);
  const setKey = (addr: number, len: number) => {
    writeU32LE(key, 0, len);
    writeU32BE(key, 4, addr);
    return key;
  };
  const randomAddr = () => ((rng.below(4) << 30) | (rng.below(4) << 20) | rng.below(1 << 12)) >>> 0;
  for (let op = 0; op < 20_000; op++) {
    const addr = randomAddr();
    const len = rng.below(33);
    const id = `${norm(addr, len)}/${len}`;
    const kind = rng.below(4);
    if (kind === 0) {
      const t = rng.u32();
      const full = !model.has(id) && model.size >= 12;
      assert.equal(m.update(setKey(addr, len), tag(t)), full ? -Errno.ENOSPC : 0);
      if (!full) model.set(id, { addr: norm(addr, len), len, tag: t });
    } else if (kind === 1) {
      assert.equal(m.delete(setKey(addr, len)), model.has(id) ? 0 : -Errno.ENOENT);
      model.delete(id);
    } else {
      // The query's own prefixlen bounds the match.
      let best: { len: number; tag: number } | undefined;
      for (const e of model.values()) {
        if (e.len <= len && norm(addr, e.len) === e.addr && (best === undefined || e.len > best.len)) best = e;
      }
      assert.equal(match(m, setKey(addr, len)), best ? best.tag : -1, `op ${op}`);
    }
  }
});

/**
 * Random updates, deletes and lookups of random prefixlen on a map with
 * `keySize`-byte keys (data words drawn from a few values, so prefixes nest);
 * every lookup goes through `check` with the key at offset 3 of its buffer.
 */
function randomLpmRun(seed: number, keySize: number, maxEntries: number, ops: number, check: (m: LpmTrieMap, key: Uint8Array, op: number) => void, onOp?: (m: LpmTrieMap, op: number) => LpmTrieMap): LpmTrieMap {
  const rng = new Rng(seed);
  let m = new LpmTrieMap({ name: 'test_lpm_rand', keySize, valueSize: 4, maxEntries, flags: BPF_F_NO_PREALLOC });
  const key = new Uint8Array(3 + keySize);
  const words = [0, 0x3039, 0x1f90_0006, 0x1f90_0106, -1, 0x0100_0000];
  const setKey = (len: number): Uint8Array => {
    writeU32LE(key, 3, len);
    for (let i = 4; i < keySize; i += 4) {
      const w = rng.below(8) === 0 ? rng.u32() : words[rng.below(words.length)]!;
      for (let b = 0; b < 4 && i + b < keySize; b++) key[3 + i + b] = w >>> (8 * b);
    }
    return key;
  };
  const maxLen = (keySize - 4) * 8;
  for (let op = 0; op < ops; op++) {
    const len = rng.below(maxLen + 1);
    const kind = rng.below(5);
    if (kind === 0) {
      const r = m.update(setKey(len), tag(op), BPF_ANY, 3);
      assert.ok(r === 0 || r === -Errno.ENOSPC, `update ${r}`);
    } else if (kind === 1) {
      m.delete(setKey(len), 3);
    } else check(m, setKey(len), op);
    if (onOp) m = onOp(m, op);
  }
  return m;
}

/** A key built in KEY_SCRATCH (the packet path's form) finds what the same key in a buffer of its own finds. */
function checkScratch(m: LpmTrieMap, key: Uint8Array, op: number): void {
  const keySize = m.spec.keySize;
  const want = m.lookup(key, 3);
  KEY_SCRATCH.bytes.set(key.subarray(3, 3 + keySize));
  // The packet path leaves whatever was there past the key; the map must ignore it.
  KEY_SCRATCH.bytes.fill(0xa5, keySize, (keySize + 3) & ~3);
  assert.equal(m.lookup(KEY_SCRATCH.bytes), want, `op ${op}`);
}

test('a key in KEY_SCRATCH finds what the same key in its own buffer finds: scan and probe modes, deletes, clones, clear', () => {
  for (const keySize of [12, 7, 24]) {
    const few = randomLpmRun(0x5c + keySize, keySize, 12, 4000, checkScratch);
    assert.ok(few.pool.highWater <= 16, 'stayed in scan mode');
    const many = randomLpmRun(0x5d + keySize, keySize, 300, 6000, checkScratch, (m, op) => {
      if (op % 997 === 996) return m.clone();
      if (op === 3000) m.clear();
      return m;
    });
    assert.ok(many.pool.highWater > 16, 'went past scan mode');
  }
});

/**
 * The data bits past the query's own prefixlen are never compared (the
 * kernel's trie stops at the key's prefixlen too), so the packet path may
 * leave stale bytes there (ipcacheHostKey does, past the IPv4 address).
 */
function checkPastPrefix(m: LpmTrieMap, key: Uint8Array, op: number): void {
  const keySize = m.spec.keySize;
  const len = readU32LE(key, 3);
  const clean = key.slice(3, 3 + keySize);
  const dirty = clean.slice();
  for (let bit = len; bit < (keySize - 4) * 8; bit++) {
    const mask = 0x80 >>> (bit & 7);
    clean[4 + (bit >>> 3)]! &= ~mask;
    dirty[4 + (bit >>> 3)]! |= mask;
  }
  const want = m.lookup(clean);
  assert.equal(m.lookup(dirty), want, `op ${op}`);
  KEY_SCRATCH.bytes.set(dirty);
  assert.equal(m.lookup(KEY_SCRATCH.bytes), want, `op ${op} (key in KEY_SCRATCH)`);
}

test('bits past the query prefixlen are not compared: scan and probe modes', () => {
  for (const keySize of [12, 7, 24]) {
    randomLpmRun(0x7a + keySize, keySize, 12, 3000, checkPastPrefix);
    randomLpmRun(0x7b + keySize, keySize, 300, 4000, checkPastPrefix);
  }
});

/** `key` (at keyOff) with its word `word` set to the host-order word `alt`: a copy at offset 0. */
function withWord(key: Uint8Array, keyOff: number, keySize: number, word: number, alt: number): Uint8Array {
  const k = new Uint8Array((keySize + 3) & ~3);
  k.set(key.subarray(keyOff, keyOff + keySize));
  new Int32Array(k.buffer)[word] = alt;
  return k.subarray(0, keySize);
}

/**
 * lookupPair(key, word, alt) against two plain lookups, for every data word
 * and a few `alt`s, with the key in a buffer of its own and built in KEY_SCRATCH.
 */
function checkPair(m: LpmTrieMap, key: Uint8Array, op: number): void {
  const keySize = m.spec.keySize;
  const found = new Int32Array(2);
  const words = (keySize + 3) >>> 2;
  for (let word = 1; word < words; word++) {
    // The query's own word (both keys the same), and others.
    const own = new Uint8Array(4);
    own.set(key.subarray(3 + 4 * word, Math.min(3 + keySize, 7 + 4 * word)));
    for (const alt of [0, 0x3039, new Int32Array(own.buffer)[0]!, 0x1f90_0106]) {
      const want = [m.lookup(key, 3), m.lookup(withWord(key, 3, keySize, word, alt))];
      const what = `op ${op} prefixlen ${readU32LE(key, 3)} word ${word} alt ${alt}`;
      found.fill(-7);
      m.lookupPair(key, 3, word, alt, found);
      assert.deepEqual([found[0], found[1]], want, what);
      KEY_SCRATCH.bytes.set(key.subarray(3, 3 + keySize));
      found.fill(-7);
      m.lookupPair(KEY_SCRATCH.bytes, 0, word, alt, found);
      assert.deepEqual([found[0], found[1]], want, `${what} (key in KEY_SCRATCH)`);
    }
  }
}

test('lookupPair equals two lookups: few entries (the map scans), deletes and a full map', () => {
  let hits = 0;
  let split = 0;
  const found = new Int32Array(2);
  const m = randomLpmRun(0x9a11, 12, 12, 6000, (m, key, op) => {
    checkPair(m, key, op);
    m.lookupPair(key, 3, 1, 0, found);
    if (found[0]! >= 0) hits++;
    if (found[0] !== found[1]) split++;
  });
  assert.ok(m.pool.highWater <= 16, 'stayed in scan mode');
  assert.ok(hits > 500 && split > 500, `queries that match (${hits}) and whose pair differs (${split})`);
});

test('lookupPair equals two lookups: many entries (hash probes per length), growth, deletes, clones, clear', () => {
  for (const keySize of [12, 7, 24]) {
    const m = randomLpmRun(0x9a12 + keySize, keySize, 300, 6000, checkPair, (m, op) => {
      if (op % 997 === 996) return m.clone();
      if (op === 3000) m.clear();
      return m;
    });
    assert.ok(m.pool.highWater > 16, 'went past scan mode');
  }
});

test('lookupPair, policy-shaped: identity-specific and wildcard entries, each found at its own longest length', () => {
  const m = new LpmTrieMap({ name: 'test_lpm_pair', keySize: 12, valueSize: 4, maxEntries: 64, flags: BPF_F_NO_PREALLOC });
  const k = (len: number, id: number, portWord: number): Uint8Array => {
    const key = new Uint8Array(12);
    const v = new DataView(key.buffer);
    v.setUint32(0, len, true);
    v.setUint32(4, id, true);
    v.setUint32(8, portWord);
    return key;
  };
  const tcp8080 = (6 << 16) | 8080;
  m.update(k(40, 0, 0), tag(1)); // any identity, ingress, any port
  m.update(k(48, 0, 6 << 16), tag(2)); // any identity, TCP
  m.update(k(64, 12345, tcp8080), tag(3)); // identity 12345, TCP/8080
  m.update(k(40, 777, 0), tag(4)); // identity 777, any port
  const found = new Int32Array(2);
  const pair = (id: number, portWord: number): number[] => {
    m.lookupPair(k(64, id, portWord), 0, 1, 0, found);
    return [found[0]!, found[1]!].map((off) => (off < 0 ? -1 : readU32LE(m.values, off)));
  };
  assert.deepEqual(pair(12345, tcp8080), [3, 2]);
  assert.deepEqual(pair(12345, tcp8080 + 1), [-1, 2], 'identity 12345 has nothing for 8081');
  assert.deepEqual(pair(777, tcp8080), [4, 2]);
  assert.deepEqual(pair(1, (17 << 16) | 53), [-1, 1]);
  assert.deepEqual(pair(0, tcp8080), [2, 2], 'identity 0: both keys are the same');
});
