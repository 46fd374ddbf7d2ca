// Storage under the hash-shaped maps (HASH, LRU_HASH, PERCPU_HASH, LPM_TRIE),
// in two parts:
//
// SlotPool: `capacity` fixed slots. Slot records in `keys` hold the key
// (padded to 4 bytes) then `metaWords` Int32 words (`meta` views the same
// buffer): word 0 is the key's hash, the rest belong to the map (the LRU
// keeps its links there, so a hit reads key and links from one cache line).
// Values sit in `values` at slot * valueStride and never move, so an offset
// handed out stays valid until its entry is deleted.
//
// SlotIndex: an open-addressing index of (hash, slot+1) Int32 pairs with
// linear probing, at most half full, so one probe reads hash and slot
// together. It is sized by the entries present, not max_entries, and doubles
// as it fills: a 512k-entry CT map holding 100k tuples probes a 2 MB index,
// not 8 MB, and memory is what decides lookup time at that size. Several
// indexes can share one pool (the LPM map keeps one per prefix length, so
// its rarely used short prefixes stay small and cache-resident).
//
// Empty is 0 everywhere (slot+1 encoding), so nothing is filled at creation
// and a big preallocated map costs only the pages it touches. Each map owns
// its pool and indexes (composition), so every hot loop sees one object shape.

/** Default hash seed: fixed so iteration order and runs are reproducible. */
export const DEFAULT_HASH_SEED = 0x2f0f_a1c3;

/** Int32Array words are host order; the word-wise key compare assumes little-endian and falls back otherwise. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Index positions before the first growth (power of two). */
const INITIAL_POSITIONS = 16;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * 32-bit murmur3-style hash of `len` bytes, consuming 4 bytes per round.
 * Keys are at arbitrary offsets, so words are assembled from bytes.
 */
export function hashBytes(b: Uint8Array, off: number, len: number, seed: number): number {
  let h = seed | 0;
  const wordEnd = off + (len & ~3);
  let i = off;
  for (; i < wordEnd; i += 4) {
    let k = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = b[i];
    if (rest > 1) k |= b[i + 1] << 8;
    if (rest > 2) k |= b[i + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

export class SlotPool {
  readonly keySize: number;
  /** Bytes per slot in `values` (valueSize, or the per-CPU stride times nCpus). */
  readonly valueStride: number;
  readonly capacity: number;
  /** Int32 words after the key in each record (word 0 = hash; the rest are the map's). */
  readonly metaWords: number;
  /** Bytes per slot record in `keys`. */
  readonly recordStride: number;
  /** recordStride / 4. */
  readonly recordWords: number;
  /** Word offset of meta word 0 inside a record. */
  readonly keyWords: number;
  /** Slot records: key bytes at slot * recordStride. */
  readonly keys: Uint8Array;
  /** The same records as Int32 words. */
  readonly meta: Int32Array;
  readonly values: Uint8Array;
  readonly view: DataView;
  /** 1 while a slot holds an entry; iteration walks this. */
  readonly live: Uint8Array;
  /** Free list of deleted slots, slot+1, 0 = end. */
  private readonly freeNext: Int32Array;
  count = 0;
  /** Slots at or above this index have never been used (so are still zero). */
  highWater = 0;
  private freeHead = 0;

  constructor(keySize: number, valueStride: number, capacity: number, metaWords = 1) {
    this.keySize = keySize;
    this.valueStride = valueStride;
    this.capacity = capacity;
    this.metaWords = metaWords;
    this.keyWords = (keySize + 3) >>> 2;
    this.recordWords = this.keyWords + metaWords;
    this.recordStride = this.recordWords * 4;
    const records = new ArrayBuffer(capacity * this.recordStride);
    this.keys = new Uint8Array(records);
    this.meta = new Int32Array(records);
    this.values = new Uint8Array(capacity * valueStride);
    this.view = new DataView(this.values.buffer);
    this.live = new Uint8Array(capacity);
    this.freeNext = new Int32Array(capacity);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Hash stored with a slot's key. */
  hashOf(slot: number): number {
    return this.meta[slot * this.recordWords + this.keyWords];
  }

  /** Take a free slot, store key and hash, zero the value. Caller checks `full` first. */
  alloc(key: Uint8Array, keyOff: number, h: number): number {
    let slot: number;
    if (this.freeHead !== 0) {
      slot = this.freeHead - 1;
      this.freeHead = this.freeNext[slot];
      // A reused slot still holds the deleted entry's value. A plain loop beats
      // the fill() builtin's call overhead for struct-sized values.
      const v = slot * this.valueStride;
      const end = v + this.valueStride;
      const values = this.values;
      if (this.valueStride <= 128) for (let i = v; i < end; i++) values[i] = 0;
      else values.fill(0, v, end);
    } else {
      slot = this.highWater++;
    }
    const keySize = this.keySize;
    const base = slot * this.recordStride;
    const keys = this.keys;
    for (let i = 0; i < keySize; i++) keys[base + i] = key[keyOff + i];
    this.meta[slot * this.recordWords + this.keyWords] = h;
    this.live[slot] = 1;
    this.count++;
    return slot;
  }

  /** Return a slot to the free list. Key and value bytes stay until reuse. */
  free(slot: number): void {
    this.freeNext[slot] = this.freeHead;
    this.freeHead = slot + 1;
    this.live[slot] = 0;
    this.count--;
  }

  clear(): void {
    this.live.fill(0, 0, this.highWater);
    // Slots handed out from highWater are assumed zero.
    this.values.fill(0, 0, this.highWater * this.valueStride);
    this.count = 0;
    this.highWater = 0;
    this.freeHead = 0;
  }

  /** Visit live slots in slot order; re-reads highWater so deletes and inserts during the walk are safe. */
  forEachSlot(cb: (slot: number) => void): void {
    const live = this.live;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (live[slot] === 1) cb(slot);
    }
  }

  clone(): SlotPool {
    const copy = new SlotPool(this.keySize, this.valueStride, this.capacity, this.metaWords);
    // Copy only the used prefix so untouched pages of the copy stay untouched.
    const used = this.highWater;
    copy.keys.set(this.keys.subarray(0, used * this.recordStride));
    copy.values.set(this.values.subarray(0, used * this.valueStride));
    copy.live.set(this.live.subarray(0, used));
    copy.freeNext.set(this.freeNext.subarray(0, used));
    copy.count = this.count;
    copy.highWater = this.highWater;
    copy.freeHead = this.freeHead;
    return copy;
  }
}

export class SlotIndex {
  /** (hash, slot+1) pairs; slot+1 = 0 marks an empty position. Replaced when it grows. */
  private index: Int32Array;
  private mask: number;
  private readonly keys: Uint8Array;
  private readonly meta: Int32Array;
  private readonly keySize: number;
  private readonly recordStride: number;
  private readonly recordWords: number;
  /** Entries indexed here. */
  count = 0;

  /** Growth stops by itself: a pool never holds more than `capacity` entries. */
  constructor(pool: SlotPool, initial?: Int32Array) {
    this.keys = pool.keys;
    this.meta = pool.meta;
    this.keySize = pool.keySize;
    this.recordStride = pool.recordStride;
    this.recordWords = pool.recordWords;
    this.index = initial ?? new Int32Array(Math.min(INITIAL_POSITIONS, nextPowerOfTwo(pool.capacity * 2)) * 2);
    this.mask = (this.index.length >> 1) - 1;
  }

  /** Slot holding `key` (whose hash is `h`), or -1; `keySize` may be cut to a prefix all entries share the rest of. */
  find(key: Uint8Array, keyOff: number, h: number, keySize = this.keySize): number {
    const index = this.index;
    const mask = this.mask;
    let p = h & mask;
    while (true) {
      const link = index[2 * p + 1];
      if (link === 0) return -1;
      if (index[2 * p] === h && this.keyMatches(link - 1, key, keyOff, keySize)) return link - 1;
      p = (p + 1) & mask;
    }
  }

  /**
   * Compare a word at a time against the record (stored keys are 4-aligned
   * and zero-padded, so a partial last word compares with zero high bytes).
   * A byte compare costs twice the loads, and this is the hottest loop here.
   */
  private keyMatches(slot: number, key: Uint8Array, keyOff: number, keySize: number): boolean {
    if (!LITTLE_ENDIAN) {
      const base = slot * this.recordStride;
      for (let i = 0; i < keySize; i++) if (this.keys[base + i] !== key[keyOff + i]) return false;
      return true;
    }
    const meta = this.meta;
    const base = slot * this.recordWords;
    const fullWords = keySize >>> 2;
    let o = keyOff;
    for (let w = 0; w < fullWords; w++, o += 4) {
      if ((key[o] | (key[o + 1] << 8) | (key[o + 2] << 16) | (key[o + 3] << 24)) !== meta[base + w]) return false;
    }
    const rest = keySize & 3;
    if (rest === 0) return true;
    let tail = key[o];
    if (rest > 1) tail |= key[o + 1] << 8;
    if (rest > 2) tail |= key[o + 2] << 16;
    return tail === meta[base + fullWords];
  }

  add(slot: number, h: number): void {
    // Keep the index at most half full.
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const index = this.index;
    const mask = this.mask;
    let p = h & mask;
    while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
    index[2 * p] = h;
    index[2 * p + 1] = slot + 1;
    this.count++;
  }

  remove(slot: number, h: number): void {
    const index = this.index;
    const mask = this.mask;
    let hole = h & mask;
    while (index[2 * hole + 1] !== slot + 1) hole = (hole + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole unless their home position lies cyclically in (hole, p].
    let p = hole;
    while (true) {
      p = (p + 1) & mask;
      const link = index[2 * p + 1];
      if (link === 0) break;
      const home = index[2 * p] & mask;
      const stays = hole <= p ? hole < home && home <= p : hole < home || home <= p;
      if (stays) continue;
      index[2 * hole] = index[2 * p];
      index[2 * hole + 1] = link;
      hole = p;
    }
    index[2 * hole] = 0;
    index[2 * hole + 1] = 0;
    this.count--;
  }

  clear(): void {
    this.index.fill(0);
    this.count = 0;
  }

  /** The same index over another pool with identical slots (for map clones). */
  cloneFor(pool: SlotPool): SlotIndex {
    const copy = new SlotIndex(pool, this.index.slice());
    copy.count = this.count;
    return copy;
  }

  /** Double the positions and re-place every entry from its stored hash. */
  private grow(): void {
    const old = this.index;
    const positions = old.length; // pairs double: new positions = 2 * old positions
    const index = new Int32Array(positions * 2);
    const mask = positions - 1;
    for (let q = 0; q < old.length; q += 2) {
      const link = old[q + 1];
      if (link === 0) continue;
      const h = old[q];
      let p = h & mask;
      while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
      index[2 * p] = h;
      index[2 * p + 1] = link;
    }
    this.index = index;
    this.mask = mask;
  }
}

/** A pool with one index: what HASH, PERCPU_HASH and LRU_HASH are built on. */
export class HashTable {
  readonly pool: SlotPool;
  readonly slots: SlotIndex;
  readonly seed: number;

  constructor(keySize: number, valueStride: number, capacity: number, seed = DEFAULT_HASH_SEED, metaWords = 1, from?: HashTable) {
    this.seed = seed | 0;
    if (from) {
      this.pool = from.pool.clone();
      this.slots = from.slots.cloneFor(this.pool);
    } else {
      this.pool = new SlotPool(keySize, valueStride, capacity, metaWords);
      this.slots = new SlotIndex(this.pool);
    }
  }

  hash(key: Uint8Array, keyOff: number): number {
    return hashBytes(key, keyOff, this.pool.keySize, this.seed);
  }

  /** Slot holding `key`, or -1. */
  find(key: Uint8Array, keyOff: number, h: number): number {
    return this.slots.find(key, keyOff, h);
  }

  /** Add a key known to be absent; caller checks `pool.full` first. */
  insert(key: Uint8Array, keyOff: number, h: number): number {
    const slot = this.pool.alloc(key, keyOff, h);
    this.slots.add(slot, h);
    return slot;
  }

  remove(slot: number): void {
    this.slots.remove(slot, this.pool.hashOf(slot));
    this.pool.free(slot);
  }

  clear(): void {
    this.pool.clear();
    this.slots.clear();
  }

  clone(): HashTable {
    const p = this.pool;
    return new HashTable(p.keySize, p.valueStride, p.capacity, this.seed, p.metaWords, this);
  }
}
