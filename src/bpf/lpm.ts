// BPF_MAP_TYPE_LPM_TRIE. Key = `struct bpf_lpm_trie_key`: a u32 prefixlen in
// host (little-endian) order, then keySize-4 data bytes; prefixlen counts bits
// from the start of the data.
//
// Instead of a trie: one hash index per prefix length present, over a shared
// slot pool holding the canonical keys (prefixlen, data masked to prefixlen).
// A lookup masks the query down to each present length, longest first, and
// probes that length's index. Cilium's ipcache is almost all host entries plus
// a handful of CIDRs, so a hit usually costs one probe, and the fallbacks to
// CIDRs probe small indexes that stay in cache. The kernel's update/delete
// semantics are kept: exact (prefixlen, masked data) match, -EINVAL for a
// prefixlen beyond the data, -ENOSPC when full.
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { DEFAULT_HASH_SEED, SlotIndex, SlotPool, hashBytes } from './hash-table.js';
import { badUpdateFlags, copyInto } from './map-util.js';
import { readU32LE } from './bytes.js';
import type { HashMapOptions } from './hash.js';

/** The kernel's LPM_DATA_SIZE_MAX. */
const LPM_DATA_SIZE_MAX = 256;

interface LpmState {
  pool: SlotPool;
  byLength: (SlotIndex | undefined)[];
  lengths: Int32Array;
  nLengths: number;
  seed: number;
}

export class LpmTrieMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly pool: SlotPool;
  readonly values: Uint8Array;
  readonly view: DataView;
  /** Bits of data after the prefixlen word: the longest prefix allowed. */
  readonly maxPrefixLen: number;
  readonly seed: number;
  private readonly keySize: number;
  private readonly valueSize: number;
  /** One index per prefix length that has been used. */
  private readonly byLength: (SlotIndex | undefined)[];
  /** Prefix lengths that have entries, longest first. */
  private readonly lengths: Int32Array;
  private nLengths = 0;
  /** The query masked to the length being probed (canonical key form). */
  private readonly scratch: Uint8Array;

  constructor(spec: MapSpecInput, options: HashMapOptions = {}, state?: LpmState) {
    this.spec = withType(spec, BpfMapType.LPM_TRIE);
    checkSpec(this.spec, BpfMapType.LPM_TRIE, 'lpm trie map');
    const dataSize = this.spec.keySize - 4;
    if (dataSize < 1 || dataSize > LPM_DATA_SIZE_MAX) throw new Error(`lpm trie map ${this.spec.name}: keySize must be 5..${LPM_DATA_SIZE_MAX + 4}`);
    // Same refusal as the kernel's trie_alloc(): LPM tries must be created with BPF_F_NO_PREALLOC.
    if (!((this.spec.flags ?? 0) & BPF_F_NO_PREALLOC)) throw new Error(`lpm trie map ${this.spec.name}: needs flags BPF_F_NO_PREALLOC`);
    this.keySize = this.spec.keySize;
    this.valueSize = this.spec.valueSize;
    this.maxPrefixLen = dataSize * 8;
    this.scratch = new Uint8Array(this.keySize);
    if (state) {
      this.pool = state.pool;
      this.byLength = state.byLength;
      this.lengths = state.lengths;
      this.nLengths = state.nLengths;
      this.seed = state.seed;
    } else {
      this.pool = new SlotPool(this.keySize, this.valueSize, this.spec.maxEntries);
      this.byLength = new Array<SlotIndex | undefined>(this.maxPrefixLen + 1).fill(undefined);
      this.lengths = new Int32Array(this.maxPrefixLen + 1);
      this.seed = (options.seed ?? DEFAULT_HASH_SEED) | 0;
    }
    this.values = this.pool.values;
    this.view = this.pool.view;
  }

  get count(): number {
    return this.pool.count;
  }

  /** Prefix lengths currently present, longest first (for dumps and tests). */
  prefixLengths(): number[] {
    return Array.from(this.lengths.subarray(0, this.nLengths));
  }

  /**
   * Longest-prefix match for the data in `key`, considering prefixes up to the
   * key's own prefixlen (use the full length for an address lookup). Value offset or -1.
   */
  lookup(key: Uint8Array, keyOff = 0): number {
    let limit = readU32LE(key, keyOff);
    if (limit > this.maxPrefixLen) limit = this.maxPrefixLen;
    const scratch = this.scratch;
    const byLength = this.byLength;
    const seed = this.seed;
    const lengths = this.lengths;
    const n = this.nLengths;
    let i = 0;
    while (i < n && lengths[i] > limit) i++;
    if (i === n) return -1;
    // Copy the significant bytes once, then mask further down for each shorter
    // length. Bytes past a length's last data byte are never read: each index
    // holds one length, so hashing and comparing `used` bytes is exact.
    const dataEnd = 4 + ((lengths[i] + 7) >>> 3);
    for (let b = 4; b < dataEnd; b++) scratch[b] = key[keyOff + b];
    for (; i < n; i++) {
      const len = lengths[i];
      const used = 4 + ((len + 7) >>> 3);
      if ((len & 7) !== 0) scratch[used - 1] &= 0xff00 >>> (len & 7);
      scratch[0] = len;
      scratch[1] = len >>> 8;
      scratch[2] = 0;
      scratch[3] = 0;
      const slot = (byLength[len] as SlotIndex).find(scratch, 0, hashBytes(scratch, 0, used, seed), used);
      if (slot >= 0) return slot * this.valueSize;
    }
    return -1;
  }

  /** Value offset of the entry with exactly this (prefixlen, masked data), or -1. */
  lookupExact(key: Uint8Array, keyOff = 0): number {
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -1;
    const slots = this.byLength[readU32LE(this.scratch, 0)];
    if (slots === undefined) return -1;
    const slot = slots.find(this.scratch, 0, hashBytes(this.scratch, 0, used, this.seed));
    return slot < 0 ? -1 : slot * this.valueSize;
  }

  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    const slot = this.reserveSlot(key, flags, keyOff);
    return slot < 0 ? slot : slot * this.valueSize;
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    const slot = this.reserveSlot(key, flags, keyOff);
    if (slot < 0) return slot;
    copyInto(this.values, slot * this.valueSize, value, valueOff, this.valueSize);
    return 0;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -Errno.EINVAL;
    const len = readU32LE(this.scratch, 0);
    const slots = this.byLength[len];
    if (slots === undefined) return -Errno.ENOENT;
    const h = hashBytes(this.scratch, 0, used, this.seed);
    const slot = slots.find(this.scratch, 0, h);
    if (slot < 0) return -Errno.ENOENT;
    slots.remove(slot, h);
    this.pool.free(slot);
    if (slots.count === 0) this.forgetLength(len);
    return 0;
  }

  clear(): void {
    this.pool.clear();
    this.byLength.fill(undefined);
    this.nLengths = 0;
  }

  /** Entries in canonical form: prefixlen (LE) then data masked to it, zero beyond. */
  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const { keys, recordStride } = this.pool;
    const valueSize = this.valueSize;
    this.pool.forEachSlot((slot) => cb(keys, slot * recordStride, slot * valueSize));
  }

  clone(): LpmTrieMap {
    const pool = this.pool.clone();
    return new LpmTrieMap({ ...this.spec }, {}, {
      pool,
      byLength: this.byLength.map((slots) => slots?.cloneFor(pool)),
      lengths: this.lengths.slice(),
      nLengths: this.nLengths,
      seed: this.seed,
    });
  }

  /** Write the canonical key into scratch; returns the bytes that matter (4 + data bytes), or -1 if prefixlen is too long. */
  private canonicalize(key: Uint8Array, keyOff: number): number {
    const len = readU32LE(key, keyOff);
    if (len > this.maxPrefixLen) return -1;
    const scratch = this.scratch;
    const used = 4 + ((len + 7) >>> 3);
    for (let b = 0; b < used; b++) scratch[b] = key[keyOff + b];
    // Stored keys are canonical: zero past the prefix.
    for (let b = used; b < scratch.length; b++) scratch[b] = 0;
    if ((len & 7) !== 0) scratch[used - 1] &= 0xff00 >>> (len & 7);
    return used;
  }

  private reserveSlot(key: Uint8Array, flags: number, keyOff: number): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const used = this.canonicalize(key, keyOff);
    if (used < 0) return -Errno.EINVAL;
    const scratch = this.scratch;
    const len = readU32LE(scratch, 0);
    const h = hashBytes(scratch, 0, used, this.seed);
    let slots = this.byLength[len];
    const found = slots === undefined ? -1 : slots.find(scratch, 0, h);
    if (found >= 0) return flags === BPF_NOEXIST ? -Errno.EEXIST : found;
    if (flags === BPF_EXIST) return -Errno.ENOENT;
    if (this.pool.full) return -Errno.ENOSPC;
    if (slots === undefined) {
      slots = new SlotIndex(this.pool);
      this.byLength[len] = slots;
    }
    if (slots.count === 0) this.addLength(len);
    const slot = this.pool.alloc(scratch, 0, h);
    slots.add(slot, h);
    return slot;
  }

  private addLength(len: number): void {
    const lengths = this.lengths;
    let i = this.nLengths++;
    while (i > 0 && lengths[i - 1] < len) {
      lengths[i] = lengths[i - 1];
      i--;
    }
    lengths[i] = len;
  }

  private forgetLength(len: number): void {
    const lengths = this.lengths;
    let i = 0;
    while (lengths[i] !== len) i++;
    for (; i < this.nLengths - 1; i++) lengths[i] = lengths[i + 1];
    this.nLengths--;
  }
}
