// BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH.
//
// Kernel semantics kept: max_entries is a hard limit (a new key in a full map
// gets -E2BIG and nothing changes, while existing keys can still be updated),
// BPF_NOEXIST/BPF_EXIST give -EEXIST/-ENOENT, deleting a missing key gives
// -ENOENT, and deleted slots are reused.
import { BPF_ANY, BPF_EXIST, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { DEFAULT_HASH_SEED, HashTable, KEY_SCRATCH } from './hash-table.js';
import { badUpdateFlags, checkCpuCount, copyInto, perCpuStride } from './map-util.js';

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const NOEXIST = BPF_NOEXIST;
const EXIST = BPF_EXIST;

export interface HashMapOptions {
  /** Hash seed; the default is fixed so runs are deterministic. */
  seed?: number;
}

/** Find-or-insert shared by HASH and PERCPU_HASH; returns the slot or -errno. */
function reserveSlot(table: HashTable, key: Uint8Array, flags: number, keyOff: number): number {
  if (badUpdateFlags(flags)) return -Errno.EINVAL;
  const slot = table.findForInsert(key, keyOff);
  if (slot >= 0) return flags === NOEXIST ? -Errno.EEXIST : slot;
  if (flags === EXIST) return -Errno.ENOENT;
  if (table.full) return -Errno.E2BIG;
  return table.insert(table.loadedHash);
}

function deleteKey(table: HashTable, key: Uint8Array, keyOff: number): number {
  const slot = table.find(table.load(key, keyOff));
  if (slot < 0) return -Errno.ENOENT;
  table.remove(slot);
  return 0;
}

export class HashMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly table: HashTable;
  private readonly valueSize: number;

  constructor(spec: MapSpecInput, options: HashMapOptions = {}, table?: HashTable) {
    this.spec = withType(spec, BpfMapType.HASH);
    checkSpec(this.spec, BpfMapType.HASH, 'hash map');
    this.valueSize = this.spec.valueSize;
    this.table = table ?? new HashTable(this.spec.keySize, this.spec.valueSize, this.spec.maxEntries, options.seed ?? DEFAULT_HASH_SEED);
  }

  /** The value bytes; a new buffer after an insert grows the storage, so read it after map writes. */
  get values(): Uint8Array {
    return this.table.values;
  }

  get view(): DataView {
    return this.table.view;
  }

  /** The value bytes as host-order Int32 words (see SlotPool.valueWords); read it after map writes, like `values`. */
  get valueWords(): Int32Array {
    return this.table.valueWords;
  }

  get count(): number {
    return this.table.count;
  }

  lookup(key: Uint8Array, keyOff = 0): number {
    const slot = this.table.lookupSlot(key, keyOff);
    return slot < 0 ? -1 : slot * this.valueSize;
  }

  /**
   * lookup() of a 20-byte key given as its five host-order words (the key's
   * bytes loaded little-endian; little-endian hosts only): no key bytes are
   * written. Same answer as lookup().
   */
  lookupWords5(k0: number, k1: number, k2: number, k3: number, k4: number): number {
    const table = this.table;
    if (table.keySize !== 20) throw new Error(`${this.spec.name}: lookupWords5 needs 20-byte keys, not ${table.keySize}`);
    const slot = table.lookupSlotWords5(k0, k1, k2, k3, k4);
    return slot < 0 ? -1 : slot * this.valueSize;
  }

  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    const slot = reserveSlot(this.table, key, flags, keyOff);
    return slot < 0 ? slot : slot * this.valueSize;
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    const slot = reserveSlot(this.table, key, flags, keyOff);
    if (slot < 0) return slot;
    copyInto(this.values, slot * this.valueSize, value, valueOff, this.valueSize);
    return 0;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    return deleteKey(this.table, key, keyOff);
  }

  clear(): void {
    this.table.clear();
  }

  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const pool = this.table;
    const valueSize = this.valueSize;
    pool.forEachSlot((slot) => cb(pool.keys, slot * pool.recordStride, slot * valueSize));
  }

  clone(): HashMap {
    return new HashMap({ ...this.spec }, {}, this.table.clone());
  }
}

export interface PerCpuOptions {
  /** Simulated CPUs; each entry holds one value per CPU. */
  nCpus?: number;
  seed?: number;
}

/**
 * BPF_MAP_TYPE_PERCPU_HASH. Each entry stores `nCpus` values, each at an
 * 8-byte-rounded stride. Program-side calls (`lookup`, `update`, `reserve`)
 * act on CPU 0's value, since the simulation runs its programs on CPU 0;
 * `lookupPerCpu`, `updatePerCpu` and `valueOffsetForCpu` reach the others,
 * as userspace readers (`cilium bpf metrics list`) do when they sum.
 */
export class PerCpuHashMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly nCpus: number;
  /** Bytes between one CPU's value and the next inside an entry. */
  readonly cpuStride: number;
  readonly table: HashTable;
  private readonly entryStride: number;
  /**
   * Where lookupWords2() last found its key: the slot (-1 = none), its
   * record's first word in `table.meta`, and CPU 0's value offset.
   */
  private hintSlot = -1;
  private hintBase = 0;
  private hintOff = 0;

  constructor(spec: MapSpecInput, options: PerCpuOptions = {}, table?: HashTable) {
    this.spec = withType(spec, BpfMapType.PERCPU_HASH);
    checkSpec(this.spec, BpfMapType.PERCPU_HASH, 'percpu hash map');
    this.nCpus = checkCpuCount(options.nCpus ?? 1, this.spec.name);
    this.cpuStride = perCpuStride(this.spec.valueSize);
    this.entryStride = this.cpuStride * this.nCpus;
    this.table = table ?? new HashTable(this.spec.keySize, this.entryStride, this.spec.maxEntries, options.seed ?? DEFAULT_HASH_SEED);
  }

  get values(): Uint8Array {
    return this.table.values;
  }

  get view(): DataView {
    return this.table.view;
  }

  get count(): number {
    return this.table.count;
  }

  valueOffsetForCpu(valueOff: number, cpu: number): number {
    return valueOff + cpu * this.cpuStride;
  }

  /** CPU 0's value offset, or -1. */
  lookup(key: Uint8Array, keyOff = 0): number {
    const table = this.table;
    const slot = table.find(table.load(key, keyOff));
    return slot < 0 ? -1 : slot * this.entryStride;
  }

  /**
   * lookup() of an 8-byte key given as its two host-order words, for
   * cilium_metrics (struct metrics_key), which every forwarded packet updates
   * under one of a handful of keys. It tries the slot of its previous hit
   * first: a live slot holding exactly these words is the key's entry (keys
   * are unique), so the answer is lookup()'s, without hashing and probing.
   * Otherwise the words go into KEY_SCRATCH and are looked up as usual. A
   * hash map's lookup changes nothing, so neither does the hint.
   */
  lookupWords2(w0: number, w1: number): number {
    const t = this.table;
    const slot = this.hintSlot;
    if (slot >= 0 && t.live[slot] === 1) {
      const meta = t.meta;
      const base = this.hintBase;
      if (meta[base] === w0 && meta[base + 1] === w1) return this.hintOff;
    }
    if (t.keySize !== 8) throw new Error(`${this.spec.name}: lookupWords2 needs 8-byte keys, not ${t.keySize}`);
    const kw = KEY_SCRATCH.words;
    kw[0] = w0;
    kw[1] = w1;
    const found = t.find(t.load(KEY_SCRATCH.bytes, 0));
    if (found < 0) return -1;
    this.hintSlot = found;
    this.hintBase = found * t.recordWords;
    this.hintOff = found * this.entryStride;
    return this.hintOff;
  }

  lookupPerCpu(key: Uint8Array, cpu: number, keyOff = 0): number {
    if (cpu >>> 0 >= this.nCpus) return -1;
    const off = this.lookup(key, keyOff);
    return off < 0 ? -1 : off + cpu * this.cpuStride;
  }

  /** New entries start with every CPU's value zeroed. */
  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    const slot = reserveSlot(this.table, key, flags, keyOff);
    return slot < 0 ? slot : slot * this.entryStride;
  }

  /** Writes CPU 0's value (a program's update); other CPUs keep theirs (zero for a new entry). */
  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    return this.updatePerCpu(key, value, 0, flags, keyOff, valueOff);
  }

  updatePerCpu(key: Uint8Array, value: Uint8Array, cpu: number, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    if (cpu >>> 0 >= this.nCpus) return -Errno.EINVAL;
    const slot = reserveSlot(this.table, key, flags, keyOff);
    if (slot < 0) return slot;
    copyInto(this.values, slot * this.entryStride + cpu * this.cpuStride, value, valueOff, this.spec.valueSize);
    return 0;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    return deleteKey(this.table, key, keyOff);
  }

  clear(): void {
    this.table.clear();
  }

  /** Each key once; the value offset is CPU 0's, use valueOffsetForCpu for the rest. */
  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const pool = this.table;
    const stride = this.entryStride;
    pool.forEachSlot((slot) => cb(pool.keys, slot * pool.recordStride, slot * stride));
  }

  clone(): PerCpuHashMap {
    return new PerCpuHashMap({ ...this.spec }, { nCpus: this.nCpus }, this.table.clone());
  }
}
