// cilium_ct4_global / cilium_ct_any4_global: a hash map specialised for
// `struct ipv4_ct_tuple` keys, as BPF_MAP_TYPE_LRU_HASH (the default) or
// BPF_MAP_TYPE_HASH (ctMapType 'hash', kernels without LRU maps).
//
// Same semantics as LruHashMap / HashMap over the same slots (so dumps list
// entries in the same order), but flat: the conntrack code passes a tuple as
// its four 32-bit words (numbers, no key bytes), and one object holds the
// index, the slot records and the values. The general map API (byte keys,
// dumps, clone, the agent's writes) works on the same storage.
//
// A tuple's words are its big-endian fields read as numbers:
//   k0 = daddr, k1 = saddr, k2 = dport << 16 | sport, k3 = nexthdr << 8 | flags
// (the two padding bytes after the 14-byte tuple are not part of the key).
//
// Slot records are REC Int32 words: the four key words, the hash, the two
// LRU links (slot+1, 0 = none) and a state word (LIVE, or the free list's
// next link while the slot is free). The index is open addressing with
// linear probing, at most half full, with backward-shift deletion; a position
// is one word, the hash's high bits over slot+1 (0 = empty), so the index of
// a map holding 50,000 flows is 512 KiB rather than twice that: each new flow
// probes it at a random place, and a smaller index stays in the caches. Storage starts small and doubles up to
// max_entries, so a 512k-entry map holding 1,000 tuples stays small; value
// offsets (slot * valueSize) never move, but `values`, `view`, `valueWords`
// are new buffers after a growth: read them after map writes.
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { badUpdateFlags, copyInto, nextPowerOfTwo } from './map-util.js';

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const ANY = BPF_ANY;
const NOEXIST = BPF_NOEXIST;
const EXIST = BPF_EXIST;

/** Bytes of `struct ipv4_ct_tuple`. */
export const CT_TUPLE_KEY_BYTES = 14;

/**
 * Int32 words per slot record, a power of two: a record's words are
 * `(slot << REC_SHIFT) | word`. Shifts and
 * ors are plain 32-bit operations, where `slot * 8 + 1` gets an overflow
 * check in TurboFan's code for each add and multiply.
 */
const REC_SHIFT = 3;
const REC = 1 << REC_SHIFT;
const HASH = 4;
/** Link toward the most recently used end. */
const NEWER = 5;
/** Link toward the least recently used end. */
const OLDER = 6;
/** LIVE while the slot holds an entry; otherwise the free list's next link (slot+1, 0 = end). */
const STATE = 7;
const LIVE = -1;

/** TUPLE_F_IN, bit 0 of the flags byte: the low bit of k3. */
const TUPLE_F_IN = 1;

const INITIAL_SLOTS = 16;
const INITIAL_POSITIONS = 16;
const HASH_MUL = 0x9e3779b1 | 0;
const DEFAULT_SEED = 0x2f0fa1c3;

// A const function expression, not a declaration: a declaration's binding
// is read from the module context and checked at every call, a module's own
// const is folded (this runs per packet).
/**
 * Hash of a tuple that is the same for the tuple and its reverse (addresses
 * and ports swapped, TUPLE_F_IN flipped): ct_lookup4() looks a packet up as
 * a reply and as a forward packet, and ct_create4() inserts the forward key
 * after both missed; all three land on one probe run. Each side's (address,
 * port) is mixed on its own and the two are added, which commutes.
 */
const tupleHash = function tupleHash(k0: number, k1: number, k2: number, k3: number): number {
  let a = Math.imul(k0 ^ Math.imul(k2 >>> 16, 0x85ebca6b), HASH_MUL);
  a ^= a >>> 15;
  a = Math.imul(a, 0x2c1b3c6d);
  let b = Math.imul(k1 ^ Math.imul(k2 & 0xffff, 0x85ebca6b), HASH_MUL);
  b ^= b >>> 15;
  b = Math.imul(b, 0x2c1b3c6d);
  let h = Math.imul((a + b) ^ (k3 & ~TUPLE_F_IN) ^ DEFAULT_SEED, HASH_MUL);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
};

/** Key words of a byte-API call (the general path; one operation at a time). */
const KW = new Int32Array(4);

function loadKey(key: Uint8Array, off: number): void {
  KW[0] = (key[off] << 24) | (key[off + 1] << 16) | (key[off + 2] << 8) | key[off + 3];
  KW[1] = (key[off + 4] << 24) | (key[off + 5] << 16) | (key[off + 6] << 8) | key[off + 7];
  KW[2] = (key[off + 8] << 24) | (key[off + 9] << 16) | (key[off + 10] << 8) | key[off + 11];
  KW[3] = (key[off + 12] << 8) | key[off + 13];
}

/** The 14 key bytes of a tuple's words. */
export function storeTupleKey(out: Uint8Array, off: number, k0: number, k1: number, k2: number, k3: number): void {
  out[off] = k0 >>> 24;
  out[off + 1] = k0 >>> 16;
  out[off + 2] = k0 >>> 8;
  out[off + 3] = k0;
  out[off + 4] = k1 >>> 24;
  out[off + 5] = k1 >>> 16;
  out[off + 6] = k1 >>> 8;
  out[off + 7] = k1;
  out[off + 8] = k2 >>> 24;
  out[off + 9] = k2 >>> 16;
  out[off + 10] = k2 >>> 8;
  out[off + 11] = k2;
  out[off + 12] = k3 >>> 8;
  out[off + 13] = k3;
}

export class CtHashMap implements KeyValueMap {
  readonly spec: MapSpec;
  /**
   * BPF_MAP_TYPE_LRU_HASH (evicts when full) rather than BPF_MAP_TYPE_HASH
   * (refuses with -E2BIG). Tested as `this.lru === true` on the packet path:
   * a pointer compare, where `if (this.lru)` is a full ToBoolean.
   */
  readonly lru: boolean;
  readonly valueSize: number;
  /** max_entries. */
  readonly capacity: number;
  /** Entries present. */
  count = 0;
  /** Entries pushed out by inserts into a full LRU map. */
  evictions = 0;
  /** The value bytes. Replaced when storage grows. */
  values: Uint8Array;
  /** Over `values`. Replaced when storage grows. */
  view: DataView;
  /** `values` as host-order Int32 words. Replaced when storage grows. */
  valueWords: Int32Array;
  /** `values` as float64 elements, for zeroing 8 bytes in one store. Replaced when storage grows. */
  valueF64: Float64Array;
  /** Slot records (see the top of the file). Replaced when storage grows. */
  private rec: Int32Array;
  /** Positions: the hash's bits above slotBits, over slot+1 (0 = empty). Replaced when it grows. */
  private index: Int32Array;
  private mask: number;
  /** Bits that hold slot+1 in a position (enough for max_entries), and their mask. */
  private readonly slotBits: number;
  private readonly slotMask: number;
  /** Slots the buffers have room for. */
  private allocated: number;
  /** Slots at or above this index have never been used since creation or clear (values still zero). */
  private highWater = 0;
  private freeHead = 0;
  /** Ends of the recency list, slot+1 (0 = empty). */
  private mostRecent = 0;
  private leastRecent = 0;
  /** Where the last probe that missed ended: the empty index position an insert of that hash takes. */
  private probeEnd = 0;
  /** insert() takes its fast path while highWater is below this (see setFastEnd). */
  private fastEnd = 0;
  // The last miss of lookupTupleOrReverse(): ct_create4() reserves the
  // forward tuple right after ct_lookup4() missed it and its reply, which
  // share one hash and probe run. Remembered: the forward tuple (the looked
  // up tuple's reverse), the hash and the run's empty end, so the insert
  // neither hashes nor probes again. Any change to the index forgets it
  // (missEnd = -1); clones start without.
  private missEnd = -1;
  private missHash = 0;
  private missK0 = 0;
  private missK1 = 0;
  private missK2 = 0;
  private missK3 = 0;
  // The slot reserveTuple() last found, or -1, and its tuple: ct_create4()
  // reserves the same related ICMP entry in cilium_ct_any4 for every new
  // flow between two pods. While the slot is live its tuple cannot change
  // (keys are unique), so a match of the remembered words is its entry,
  // with no hash, probe or record reads; removeSlot() forgets it.
  private lastSlot = -1;
  private lastK0 = 0;
  private lastK1 = 0;
  private lastK2 = 0;
  private lastK3 = 0;

  constructor(spec: MapSpecInput, from?: CtHashMap) {
    this.spec = withType(spec, BpfMapType.LRU_HASH);
    this.lru = this.spec.type === BpfMapType.LRU_HASH;
    checkSpec(this.spec, this.lru ? BpfMapType.LRU_HASH : BpfMapType.HASH, this.lru ? 'lru hash map' : 'hash map');
    if (this.lru && (this.spec.flags ?? 0) & BPF_F_NO_PREALLOC) throw new Error(`lru hash map ${this.spec.name}: BPF_F_NO_PREALLOC is not supported`);
    if (this.spec.keySize !== CT_TUPLE_KEY_BYTES) throw new Error(`conntrack map ${this.spec.name}: keys are ${CT_TUPLE_KEY_BYTES}-byte tuples, not ${this.spec.keySize}`);
    this.valueSize = this.spec.valueSize;
    this.capacity = this.spec.maxEntries;
    this.slotBits = 32 - Math.clz32(this.capacity);
    this.slotMask = (1 << this.slotBits) - 1;
    if (from) {
      this.allocated = from.allocated;
      this.rec = from.rec.slice();
      this.values = from.values.slice();
      this.index = from.index.slice();
      this.mask = from.mask;
      this.count = from.count;
      this.evictions = from.evictions;
      this.highWater = from.highWater;
      this.freeHead = from.freeHead;
      this.mostRecent = from.mostRecent;
      this.leastRecent = from.leastRecent;
    } else {
      this.allocated = Math.min(this.capacity, INITIAL_SLOTS);
      this.rec = new Int32Array(this.allocated * REC);
      this.values = new Uint8Array(this.allocated * this.valueSize);
      this.index = new Int32Array(Math.min(INITIAL_POSITIONS, nextPowerOfTwo(this.capacity * 2)));
      this.mask = this.index.length - 1;
    }
    this.view = new DataView(this.values.buffer);
    this.valueWords = new Int32Array(this.values.buffer, 0, this.values.length >>> 2);
    this.valueF64 = new Float64Array(this.values.buffer, 0, this.values.length >>> 3);
    this.setFastEnd();
  }

  // ---- The packet path: tuples as words ----

  /**
   * Slot of the tuple, or -1 (then `probeEnd` is where its hash would go).
   * Touches nothing.
   */
  private find(k0: number, k1: number, k2: number, k3: number, h: number): number {
    const index = this.index;
    const rec = this.rec;
    const mask = this.mask;
    const slotMask = this.slotMask;
    const tag = h & ~slotMask;
    let p = h & mask;
    for (;;) {
      const e = index[p];
      if (e === 0) break;
      if ((e & ~slotMask) === tag) {
        const r = ((e & slotMask) - 1) << REC_SHIFT;
        if (rec[r] === k0 && rec[r | 1] === k1 && rec[r | 2] === k2 && rec[r | 3] === k3) return (e & slotMask) - 1;
      }
      p = (p + 1) & mask;
    }
    this.probeEnd = p;
    return -1;
  }

  /** Value offset of the tuple, or -1; an LRU hit becomes the most recently used. */
  lookupTuple(k0: number, k1: number, k2: number, k3: number): number {
    const slot = this.find(k0, k1, k2, k3, tupleHash(k0, k1, k2, k3));
    if (slot < 0) return -1;
    if (this.lru === true && this.mostRecent !== slot + 1) this.touch(slot);
    return slot * this.valueSize;
  }

  /**
   * ct_lookup4()'s two lookups in one probe run (the tuple and its reverse
   * share a hash): value offset of the tuple, else `-2 - offset` of its
   * reverse (addresses and ports swapped, TUPLE_F_IN flipped), else -1. A
   * match of the tuple itself wins, as the first of two lookups would. The
   * entry found counts as used.
   */
  lookupTupleOrReverse(k0: number, k1: number, k2: number, k3: number): number {
    const h = tupleHash(k0, k1, k2, k3);
    const r2 = (k2 >>> 16) | (k2 << 16);
    const r3 = k3 ^ TUPLE_F_IN;
    const index = this.index;
    const rec = this.rec;
    const mask = this.mask;
    const slotMask = this.slotMask;
    const tag = h & ~slotMask;
    let reverse = -1;
    let p = h & mask;
    for (;;) {
      const e = index[p];
      if (e === 0) break;
      if ((e & ~slotMask) === tag) {
        const link = e & slotMask;
        const r = (link - 1) << REC_SHIFT;
        const a0 = rec[r];
        const a1 = rec[r | 1];
        const a2 = rec[r | 2];
        const a3 = rec[r | 3];
        if (a0 === k0 && a1 === k1 && a2 === k2 && a3 === k3) {
          if (this.lru === true && this.mostRecent !== link) this.touch(link - 1);
          return (link - 1) * this.valueSize;
        }
        if (reverse < 0 && a0 === k1 && a1 === k0 && a2 === r2 && a3 === r3) reverse = link - 1;
      }
      p = (p + 1) & mask;
    }
    if (reverse < 0) {
      this.missEnd = p;
      this.missHash = h;
      this.missK0 = k1;
      this.missK1 = k0;
      this.missK2 = r2;
      this.missK3 = r3;
      return -1;
    }
    if (this.lru === true && this.mostRecent !== reverse + 1) this.touch(reverse);
    return -2 - reverse * this.valueSize;
  }

  /**
   * Find or create the tuple's entry (map_update_elem's reservation): value
   * offset (a new entry's value is zero), or -errno. A full LRU map evicts
   * its least recently used entry; a full hash map refuses with -E2BIG.
   * BPF_ANY (what ct_create4() uses) runs inline; the rest out of line.
   */
  reserveTuple(k0: number, k1: number, k2: number, k3: number, flags: number): number {
    if (flags !== ANY) return this.reserveFlagged(k0, k1, k2, k3, flags);
    if (this.missEnd >= 0 && k0 === this.missK0 && k1 === this.missK1 && k2 === this.missK2 && k3 === this.missK3) {
      // ct_create4() after ct_lookup4() missed this tuple: known absent, and where it goes.
      this.probeEnd = this.missEnd;
      return this.insert(k0, k1, k2, k3, this.missHash);
    }
    const last = this.lastSlot;
    if (last >= 0 && k0 === this.lastK0 && k1 === this.lastK1 && k2 === this.lastK2 && k3 === this.lastK3) {
      if (this.lru === true && this.mostRecent !== last + 1) this.touch(last);
      return last * this.valueSize;
    }
    const h = tupleHash(k0, k1, k2, k3);
    const slot = this.find(k0, k1, k2, k3, h);
    if (slot < 0) return this.insert(k0, k1, k2, k3, h);
    if (this.lru === true && this.mostRecent !== slot + 1) this.touch(slot);
    this.lastSlot = slot;
    this.lastK0 = k0;
    this.lastK1 = k1;
    this.lastK2 = k2;
    this.lastK3 = k3;
    return slot * this.valueSize;
  }

  /** reserveTuple() with BPF_NOEXIST / BPF_EXIST (or bad flags: -EINVAL). */
  private reserveFlagged(k0: number, k1: number, k2: number, k3: number, flags: number): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const h = tupleHash(k0, k1, k2, k3);
    const slot = this.find(k0, k1, k2, k3, h);
    if (slot >= 0) {
      if (flags === NOEXIST) return -Errno.EEXIST;
      if (this.lru === true && this.mostRecent !== slot + 1) this.touch(slot);
      return slot * this.valueSize;
    }
    if (flags === EXIST) return -Errno.ENOENT;
    return this.insert(k0, k1, k2, k3, h);
  }

  /**
   * Add the tuple (hash `h`), known absent, right after find() missed it:
   * value offset or -E2BIG. While nothing is free, full or due to grow
   * (highWater < fastEnd) the new slot is the next unused one and the index
   * position the one find() stopped at; insertSlow() does the rest.
   */
  private insert(k0: number, k1: number, k2: number, k3: number, h: number): number {
    const slot = this.highWater;
    if (slot >= this.fastEnd) return this.insertSlow(k0, k1, k2, k3, h);
    this.highWater = slot + 1;
    this.count++;
    return this.place(slot, this.probeEnd, k0, k1, k2, k3, h);
  }

  /** Fill `slot`'s record, index it at the empty position `p`, and make it the most recently used: its value offset. */
  private place(slot: number, p: number, k0: number, k1: number, k2: number, k3: number, h: number): number {
    const rec = this.rec;
    const r = slot << REC_SHIFT;
    rec[r] = k0;
    rec[r | 1] = k1;
    rec[r | 2] = k2;
    rec[r | 3] = k3;
    rec[r | HASH] = h;
    rec[r | STATE] = LIVE;
    this.index[p] = (h & ~this.slotMask) | (slot + 1);
    this.missEnd = -1;
    if (this.lru === true) this.pushMostRecent(slot);
    return slot * this.valueSize;
  }

  /** insert() in general: eviction or refusal when full, free slot reuse, storage and index growth. */
  private insertSlow(k0: number, k1: number, k2: number, k3: number, h: number): number {
    let p = this.probeEnd;
    if (this.count >= this.capacity) {
      if (!this.lru) return -Errno.E2BIG;
      const victim = this.leastRecent - 1;
      this.unlink(victim);
      this.removeSlot(victim);
      this.evictions++;
      p = -1; // the removal may have shifted the probe run
    }
    const slot = this.takeSlot();
    // Keep the index at most half full.
    if (this.count * 2 > this.mask + 1) {
      this.growIndex();
      p = -1;
    }
    if (p < 0) {
      const index = this.index;
      const mask = this.mask;
      p = h & mask;
      while (index[p] !== 0) p = (p + 1) & mask;
    }
    const off = this.place(slot, p, k0, k1, k2, k3, h);
    this.setFastEnd();
    return off;
  }

  /**
   * insert()'s fast path condition. With no free slot, every slot below
   * highWater is live (count = highWater), so the next one is in the
   * storage and under max_entries while highWater < allocated (allocated <=
   * max_entries), and the index stays at most half full while
   * highWater < positions / 2.
   */
  private setFastEnd(): void {
    this.fastEnd = this.freeHead !== 0 ? 0 : Math.min(this.allocated, (this.mask + 1) >> 1);
  }

  // ---- Slots, recency, index ----

  /** A free slot with a zeroed value, counted; the caller fills its record. May grow the storage. */
  private takeSlot(): number {
    let slot: number;
    if (this.freeHead !== 0) {
      slot = this.freeHead - 1;
      this.freeHead = this.rec[(slot << REC_SHIFT) | STATE];
      // A reused slot still holds the deleted entry's value.
      const v = slot * this.valueSize;
      const end = v + this.valueSize;
      const values = this.values;
      for (let i = v; i < end; i++) values[i] = 0;
    } else {
      if (this.highWater === this.allocated) this.grow();
      slot = this.highWater++;
    }
    this.count++;
    return slot;
  }

  /** Take `slot` out of the index and put it on the free list (its value stays until reuse). */
  private removeSlot(slot: number): void {
    const rec = this.rec;
    const r = slot << REC_SHIFT;
    // Backward-shift deletion: later entries of the probe run move into the
    // hole unless their home position lies cyclically in (hole, p].
    const index = this.index;
    const mask = this.mask;
    const slotMask = this.slotMask;
    let hole = rec[r | HASH] & mask;
    while ((index[hole] & slotMask) !== slot + 1) hole = (hole + 1) & mask;
    let p = hole;
    for (;;) {
      p = (p + 1) & mask;
      const e = index[p];
      if (e === 0) break;
      // Positions keep only the hash's high bits: the home position comes from the record.
      const home = rec[(((e & slotMask) - 1) << REC_SHIFT) | HASH] & mask;
      const stays = hole <= p ? hole < home && home <= p : hole < home || home <= p;
      if (stays) continue;
      index[hole] = e;
      hole = p;
    }
    index[hole] = 0;
    rec[r | STATE] = this.freeHead;
    this.freeHead = slot + 1;
    if (slot === this.lastSlot) this.lastSlot = -1;
    this.count--;
    this.fastEnd = 0;
    this.missEnd = -1;
  }

  private touch(slot: number): void {
    this.unlink(slot);
    this.pushMostRecent(slot);
  }

  private pushMostRecent(slot: number): void {
    const rec = this.rec;
    const mr = this.mostRecent;
    rec[(slot << REC_SHIFT) | NEWER] = 0;
    rec[(slot << REC_SHIFT) | OLDER] = mr;
    if (mr !== 0) rec[((mr - 1) << REC_SHIFT) | NEWER] = slot + 1;
    else this.leastRecent = slot + 1;
    this.mostRecent = slot + 1;
  }

  private unlink(slot: number): void {
    const rec = this.rec;
    const newer = rec[(slot << REC_SHIFT) | NEWER];
    const older = rec[(slot << REC_SHIFT) | OLDER];
    if (newer !== 0) rec[((newer - 1) << REC_SHIFT) | OLDER] = older;
    else this.mostRecent = older;
    if (older !== 0) rec[((older - 1) << REC_SHIFT) | NEWER] = newer;
    else this.leastRecent = newer;
  }

  /** Double the storage (up to max_entries), copying the used slots: offsets keep their meaning. */
  private grow(): void {
    const used = this.highWater;
    const n = Math.min(this.capacity, this.allocated * 2);
    const rec = new Int32Array(n * REC);
    rec.set(this.rec.subarray(0, used * REC));
    const values = new Uint8Array(n * this.valueSize);
    values.set(this.values.subarray(0, used * this.valueSize));
    this.allocated = n;
    this.rec = rec;
    this.values = values;
    this.view = new DataView(values.buffer);
    this.valueWords = new Int32Array(values.buffer, 0, values.length >>> 2);
    this.valueF64 = new Float64Array(values.buffer, 0, values.length >>> 3);
  }

  /** Double the index positions and re-place every entry from its stored hash. */
  private growIndex(): void {
    const old = this.index;
    const index = new Int32Array(old.length * 2);
    const mask = index.length - 1;
    const rec = this.rec;
    const slotMask = this.slotMask;
    for (let q = 0; q < old.length; q++) {
      const e = old[q];
      if (e === 0) continue;
      let p = rec[(((e & slotMask) - 1) << REC_SHIFT) | HASH] & mask;
      while (index[p] !== 0) p = (p + 1) & mask;
      index[p] = e;
    }
    this.index = index;
    this.mask = mask;
    this.missEnd = -1;
  }

  // ---- The general map API (byte keys) ----

  lookup(key: Uint8Array, keyOff = 0): number {
    loadKey(key, keyOff);
    return this.lookupTuple(KW[0], KW[1], KW[2], KW[3]);
  }

  /** Lookup without refreshing recency (dumps, garbage collection). */
  peek(key: Uint8Array, keyOff = 0): number {
    loadKey(key, keyOff);
    const k0 = KW[0];
    const k1 = KW[1];
    const k2 = KW[2];
    const k3 = KW[3];
    const slot = this.find(k0, k1, k2, k3, tupleHash(k0, k1, k2, k3));
    return slot < 0 ? -1 : slot * this.valueSize;
  }

  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    loadKey(key, keyOff);
    return this.reserveTuple(KW[0], KW[1], KW[2], KW[3], flags);
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    loadKey(key, keyOff);
    const off = this.reserveTuple(KW[0], KW[1], KW[2], KW[3], flags);
    if (off < 0) return off;
    copyInto(this.values, off, value, valueOff, this.valueSize);
    return 0;
  }

  delete(key: Uint8Array, keyOff = 0): number {
    loadKey(key, keyOff);
    const k0 = KW[0];
    const k1 = KW[1];
    const k2 = KW[2];
    const k3 = KW[3];
    const slot = this.find(k0, k1, k2, k3, tupleHash(k0, k1, k2, k3));
    if (slot < 0) return -Errno.ENOENT;
    if (this.lru) this.unlink(slot);
    this.removeSlot(slot);
    return 0;
  }

  /** Empty the map; its storage stays allocated. */
  clear(): void {
    // Slots handed out from highWater are assumed zero; records need no reset (highWater and the free list say which are in use).
    this.values.fill(0, 0, this.highWater * this.valueSize);
    this.index.fill(0);
    this.count = 0;
    this.highWater = 0;
    this.freeHead = 0;
    this.mostRecent = 0;
    this.leastRecent = 0;
    this.missEnd = -1;
    // Records keep their words (and LIVE) past highWater: forget the slot.
    this.lastSlot = -1;
    this.setFastEnd();
  }

  /**
   * Visit entries in slot order (deleting the current entry is fine). The key
   * bytes are written into a buffer of this walk: copy them to keep them.
   */
  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const key = new Uint8Array(16);
    for (let slot = 0; slot < this.highWater; slot++) {
      const rec = this.rec;
      const r = slot << REC_SHIFT;
      if (rec[r | STATE] !== LIVE) continue;
      storeTupleKey(key, 0, rec[r], rec[r | 1], rec[r | 2], rec[r | 3]);
      cb(key, 0, slot * this.valueSize);
    }
  }

  /** Visit entries from most to least recently used (LRU maps; deleting the current entry is fine). */
  forEachByRecency(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    if (!this.lru) throw new Error(`hash map ${this.spec.name}: no recency order`);
    const key = new Uint8Array(16);
    let link = this.mostRecent;
    while (link !== 0) {
      const slot = link - 1;
      const rec = this.rec;
      const r = slot << REC_SHIFT;
      link = rec[r | OLDER];
      storeTupleKey(key, 0, rec[r], rec[r | 1], rec[r | 2], rec[r | 3]);
      cb(key, 0, slot * this.valueSize);
    }
  }

  clone(): CtHashMap {
    return new CtHashMap({ ...this.spec }, this);
  }
}
