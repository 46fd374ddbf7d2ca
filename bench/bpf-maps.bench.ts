// Per-operation cost of the map kinds on the packet path.
//   node --import tsx bench/bpf-maps.bench.ts [--json]
// Each figure: build the map, warm up (so V8 has optimised the code), then
// time several rounds with process.hrtime.bigint() and report the median.
import { HashMap } from '../src/bpf/hash.js';
import { LruHashMap } from '../src/bpf/lru.js';
import { LpmTrieMap } from '../src/bpf/lpm.js';
import { EventRing } from '../src/bpf/ringbuf.js';
import { BPF_F_NO_PREALLOC } from '../src/bpf/types.js';
import { writeU16BE, writeU16LE, writeU32BE, writeU32LE } from '../src/bpf/bytes.js';
import { Rng } from '../src/util/rng.js';

const json = process.argv.includes('--json');
const ROUNDS = 9;

/** Keeps results observable so the loops cannot be optimised away. */
let sink = 0;

function measure(metric: string, opsPerRound: number, round: () => number): void {
  for (let i = 0; i < 3; i++) sink ^= round();
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    sink ^= round();
    samples.push(Number(process.hrtime.bigint() - start) / opsPerRound);
  }
  samples.sort((a, b) => a - b);
  const ns = samples[ROUNDS >> 1];
  if (json) {
    console.log(JSON.stringify({ bench: 'bpf-maps', metric, value: Math.round(ns * 100) / 100, unit: 'ns/op' }));
  } else {
    console.log(`${metric.padEnd(22)} ${ns.toFixed(1).padStart(8)} ns/op ${(1000 / ns).toFixed(2).padStart(8)} Mops/s`);
  }
}

/** Indexes 0..n-1 in a random order, so lookups do not walk memory sequentially. */
function shuffled(rng: Rng, n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

const OPS = 1 << 19;

function benchConntrackLru(rng: Rng): void {
  const present = 100_000;
  const keySize = 14;
  const ct = new LruHashMap({ name: 'cilium_ct4_global', keySize, valueSize: 56, maxEntries: 524288 });
  const keys = new Uint8Array(present * keySize);
  for (let i = 0; i < present; i++) {
    const o = i * keySize;
    writeU32BE(keys, o, 0x0a000000 | rng.below(1 << 16));
    writeU32BE(keys, o + 4, 0x0a010000 | rng.below(1 << 16));
    writeU16BE(keys, o + 8, 80);
    writeU16BE(keys, o + 10, 32768 + (i % 28232));
    keys[o + 12] = 6;
    if (ct.reserve(keys, 0, o) < 0) throw new Error('ct insert failed');
  }
  const order = shuffled(rng, present);
  measure('lru_lookup', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += ct.lookup(keys, order[i % present] * keySize);
    return acc;
  });
  // A node with little traffic: 1k tuples, all in cache.
  const fewKeys = 1000;
  const fewCt = new LruHashMap({ name: 'cilium_ct4_global', keySize, valueSize: 56, maxEntries: 524288 });
  for (let i = 0; i < fewKeys; i++) fewCt.reserve(keys, 0, i * keySize);
  measure('lru_lookup_1k', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += fewCt.lookup(keys, order[i % present] % fewKeys * keySize);
    return acc;
  });
  // Misses: same tuples with the flags byte set (CT lookups for the reverse direction often miss).
  const missKeys = keys.slice();
  for (let i = 0; i < present; i++) missKeys[i * keySize + 13] = 1;
  measure('lru_lookup_miss', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += ct.lookup(missKeys, order[i % present] * keySize);
    return acc;
  });
  // Steady-state churn on a full small map: every insert evicts.
  const small = new LruHashMap({ name: 'churn', keySize, valueSize: 56, maxEntries: 50_000 });
  measure('lru_insert_evict', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) {
      const o = order[i % present] * keySize;
      keys[o + 13] ^= 2; // a different tuple every pass
      acc += small.reserve(keys, 0, o);
    }
    return acc;
  });
}

function benchHash(rng: Rng): void {
  const n = 50_000;
  const m = new HashMap({ name: 'cilium_lb4_backends_v3', keySize: 4, valueSize: 12, maxEntries: 65536 });
  const keys = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    writeU32LE(keys, i * 4, rng.u32());
    m.reserve(keys, 0, i * 4);
  }
  const order = shuffled(rng, n);
  measure('hash_lookup', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += m.lookup(keys, order[i % n] * 4);
    return acc;
  });
}

function benchIpcache(rng: Rng): void {
  const keySize = 24;
  const ipcache = new LpmTrieMap({ name: 'cilium_ipcache', keySize, valueSize: 12, maxEntries: 512000, flags: BPF_F_NO_PREALLOC });
  const key = new Uint8Array(keySize);
  const info = new Uint8Array(12);
  const setKey = (buf: Uint8Array, off: number, ip: number, ipPrefix: number) => {
    writeU32LE(buf, off, 32 + ipPrefix);
    writeU16LE(buf, off + 4, 0);
    buf[off + 7] = 1;
    writeU32BE(buf, off + 8, ip);
  };
  const hosts = 10_000;
  const queries = new Uint8Array(hosts * keySize);
  for (let i = 0; i < hosts; i++) {
    const ip = (0x0a000000 | (rng.below(256) << 8) | rng.below(256) | (i << 16)) >>> 0;
    setKey(queries, i * keySize, ip, 32);
    ipcache.update(queries, info, 0, i * keySize);
  }
  for (const [ip, len] of [[0, 0], [0x0a000000, 8], [0xc0a80000, 16]]) {
    setKey(key, 0, ip, len);
    ipcache.update(key, info);
  }
  const order = shuffled(rng, hosts);
  measure('lpm_lookup', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += ipcache.lookup(queries, order[i % hosts] * keySize);
    return acc;
  });
  // Addresses with no host entry: probe /32, then fall back to a CIDR or world.
  const misses = new Uint8Array(hosts * keySize);
  for (let i = 0; i < hosts; i++) setKey(misses, i * keySize, (0x0b000000 + rng.below(1 << 24)) >>> 0, 32);
  measure('lpm_lookup_cidr', OPS, () => {
    let acc = 0;
    for (let i = 0; i < OPS; i++) acc += ipcache.lookup(misses, order[i % hosts] * keySize);
    return acc;
  });
}

function benchRing(): void {
  const ring = new EventRing(64 * 4096);
  const len = 128;
  const batch = 256;
  let consumed = 0;
  const onRecord = (data: Uint8Array, off: number) => {
    consumed += data[off];
  };
  measure('ring_record', OPS, () => {
    for (let i = 0; i < OPS; i += batch) {
      for (let j = 0; j < batch; j++) {
        const at = ring.reserve(len);
        ring.data[at] = j & 1;
        ring.commit();
      }
      ring.consume(onRecord);
    }
    return consumed;
  });
  if (ring.lost !== 0) throw new Error('ring lost records');
}

const rng = new Rng(0xbe9c);
if (!json) console.log(`bpf-maps (node ${process.version}); median of ${ROUNDS} rounds of ${OPS} ops`);
benchConntrackLru(rng);
benchHash(rng);
benchIpcache(rng);
benchRing();
if (sink === 0.5) console.log('');
