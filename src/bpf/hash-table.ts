// Storage under the hash-shaped maps (HASH, LRU_HASH, PERCPU_HASH, LPM_TRIE),
// in two parts:
//
// SlotPool: up to `capacity` (max_entries) slots. Slot records in `meta`
// (Int32 words; `keys` views the same bytes) hold the key, zero-padded to a
// whole word, then `metaWords` words: word 0 is the key's hash, the rest
// belong to the map (the LRU keeps its links there, so a hit reads key and
// links from one cache line). Values sit in `values` at slot * valueStride.
// Storage is allocated on demand and doubles as slots are used, up to
// capacity (what BPF_F_NO_PREALLOC does in the kernel): a 512k-entry CT map
// holding 1,000 tuples costs a few hundred KB, not 40 MB. Growing copies into
// larger buffers, so a value's offset (slot * valueStride) never changes
// until its entry is deleted, but the buffers do: read `values`, `view`,
// `meta` from the pool (or the map) after any insert, never keep them across
// one.
//
// SlotIndex: an open-addressing index of (hash, slot+1) Int32 pairs with
// linear probing, at most half full, so one probe reads hash and slot
// together. It is sized by the entries present and doubles as it fills.
// Several indexes can share one pool (the LPM map keeps one per prefix
// length, so its rarely used short prefixes stay small and cache-resident).
//
// Keys are handled a word at a time: an operation assembles the key's bytes
// into the table's aligned scratch words once (`loadKey`), then hashes and
// compares words, instead of re-reading bytes for the hash and again for
// every candidate. Empty is 0 everywhere (slot+1 encoding), so nothing needs
// filling at creation. Each map owns its pool and indexes (composition), so
// every hot loop sees one object shape.

import { HOST_LITTLE_ENDIAN } from './bytes.js';
import { nextPowerOfTwo } from './map-util.js';

/** Default hash seed: fixed so runs are reproducible. */
export const DEFAULT_HASH_SEED = 0x2f0f_a1c3;

// Int32Array words are host order. Keys are assembled into words little-endian
// from their bytes, which matches the record bytes on little-endian hosts
// (HOST_LITTLE_ENDIAN); elsewhere `loadKeyWords` copies bytes through a byte
// view instead.

/** Index positions before the first growth (power of two). */
const INITIAL_POSITIONS = 16;

/** Slots a pool allocates storage for before its first growth. */
const INITIAL_SLOTS = 16;

/** Longest key handled (the kernel's LPM limit: 4 + 256 data bytes). */
const MAX_KEY_WORDS = 65;


/**
 * 32-bit murmur3-style hash of `len` bytes, consuming 4 bytes per round.
 * Keys are at arbitrary offsets, so words are assembled from bytes. (The maps
 * themselves hash loaded key words with hashWords.)
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

/** Odd multiplier of the per-word hash step (2^32 / golden ratio). */
const HASH_MUL = 0x9e3779b1;

/**
 * Hash of `n` key words: per word an xor, a multiply and an xor-shift (each
 * step invertible, so distinct single words never collide), then murmur3's
 * finaliser to spread every input bit over the low bits the index masks
 * with. About half the work of a murmur3 round per word; this is on every
 * map operation of every packet.
 */
export function hashWords(kw: Int32Array, n: number, seed: number): number {
  let h = seed;
  for (let w = 0; w < n; w++) {
    h = Math.imul(h ^ kw[w], HASH_MUL);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ n, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** hashWords() of the `n` (1 to 3) words k0, k1, k2, given as numbers. */
export function hashWords3(n: number, k0: number, k1: number, k2: number, seed: number): number {
  let h = Math.imul(seed ^ k0, HASH_MUL);
  h ^= h >>> 15;
  if (n > 1) {
    h = Math.imul(h ^ k1, HASH_MUL);
    h ^= h >>> 15;
    if (n > 2) {
      h = Math.imul(h ^ k2, HASH_MUL);
      h ^= h >>> 15;
    }
  }
  h = Math.imul(h ^ n, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Copy `keySize` key bytes into `kw` as host-order words, the last one
 * zero-padded: the form records store keys in.
 */
export function loadKeyWords(kw: Int32Array, kb: Uint8Array, key: Uint8Array, off: number, keySize: number): void {
  if (!HOST_LITTLE_ENDIAN) {
    for (let i = 0; i < keySize; i++) kb[i] = key[off + i];
    for (let i = keySize; i < ((keySize + 3) & ~3); i++) kb[i] = 0;
    return;
  }
  const full = keySize >>> 2;
  let o = off;
  for (let w = 0; w < full; w++, o += 4) kw[w] = key[o] | (key[o + 1] << 8) | (key[o + 2] << 16) | (key[o + 3] << 24);
  const rest = keySize & 3;
  if (rest !== 0) {
    let t = key[o];
    if (rest > 1) t |= key[o + 1] << 8;
    if (rest > 2) t |= key[o + 2] << 16;
    kw[full] = t;
  }
}

/** Scratch words for one key (4-aligned), with byte and DataView views of the same memory. */
export class KeyWords {
  readonly words: Int32Array;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  constructor(keySize: number) {
    const n = (keySize + 3) >>> 2;
    if (n > MAX_KEY_WORDS) throw new Error(`key of ${keySize} bytes is too long`);
    this.words = new Int32Array(n);
    this.bytes = new Uint8Array(this.words.buffer);
    this.view = new DataView(this.words.buffer);
  }
}

/** TAIL_MASK[r]: a host-order word keeping its first r bytes (the key bytes of a partial last word). */
const TAIL_MASK = Int32Array.from([0, 1, 2, 3], (r) => {
  const b = new Uint8Array(4);
  for (let i = 0; i < r; i++) b[i] = 0xff;
  return new Int32Array(b.buffer)[0];
});

export class SlotPool {
  readonly keySize: number;
  /** Bytes per slot in `values` (valueSize, or the per-CPU stride times nCpus). */
  readonly valueStride: number;
  /** max_entries: slots never exceed it. */
  readonly capacity: number;
  /** Int32 words after the key in each record (word 0 = hash; the rest are the map's). */
  readonly metaWords: number;
  /** Bytes per slot record in `keys`. */
  readonly recordStride: number;
  /** recordStride / 4. */
  readonly recordWords: number;
  /** Words of key in a record; also the word offset of meta word 0. */
  readonly keyWords: number;
  /** Slots the buffers below have room for (grows by doubling up to capacity). */
  allocated: number;
  /** Slot records: key bytes at slot * recordStride. Replaced when storage grows. */
  keys: Uint8Array;
  /** The same records as Int32 words. Replaced when storage grows. */
  meta: Int32Array;
  /** Replaced when storage grows. */
  values: Uint8Array;
  /** Over `values`. Replaced when storage grows. */
  view: DataView;
  /** `values` as host-order Int32 words (a whole-word view: any last 1-3 bytes are left out). Replaced when storage grows. */
  valueWords: Int32Array;
  /** 1 while a slot holds an entry; iteration walks this. */
  live: Uint8Array;
  /** Free list of deleted slots, slot+1, 0 = end. */
  private freeNext: Int32Array;
  count = 0;
  /** Slots at or above this index have never been used (so are still zero). */
  highWater = 0;
  private freeHead = 0;

  constructor(keySize: number, valueStride: number, capacity: number, metaWords = 1, from?: SlotPool) {
    this.keySize = keySize;
    this.valueStride = valueStride;
    this.capacity = capacity;
    this.metaWords = metaWords;
    this.keyWords = (keySize + 3) >>> 2;
    this.recordWords = this.keyWords + metaWords;
    this.recordStride = this.recordWords * 4;
    if (from) {
      // A copy of `from` (clone): same storage size, so the copy grows like the original.
      this.allocated = from.allocated;
      this.meta = from.meta.slice();
      this.keys = new Uint8Array(this.meta.buffer);
      this.values = from.values.slice();
      this.live = from.live.slice();
      this.freeNext = from.freeNext.slice();
      this.count = from.count;
      this.highWater = from.highWater;
      this.freeHead = from.freeHead;
    } else {
      this.allocated = Math.min(capacity, INITIAL_SLOTS);
      this.meta = new Int32Array(this.allocated * this.recordWords);
      this.keys = new Uint8Array(this.meta.buffer);
      this.values = new Uint8Array(this.allocated * valueStride);
      this.live = new Uint8Array(this.allocated);
      this.freeNext = new Int32Array(this.allocated);
    }
    this.view = new DataView(this.values.buffer);
    this.valueWords = new Int32Array(this.values.buffer, 0, this.values.length >>> 2);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  /** Hash stored with a slot's key. */
  hashOf(slot: number): number {
    return this.meta[slot * this.recordWords + this.keyWords];
  }

  /**
   * Take a free slot, store the key (from `kw`, see loadKeyWords) and its hash,
   * zero the value. Caller checks `full` first. May replace the buffers.
   */
  alloc(kw: Int32Array, h: number): number {
    const slot = this.takeSlot();
    const meta = this.meta;
    const base = slot * this.recordWords;
    const n = this.keyWords;
    for (let w = 0; w < n; w++) meta[base + w] = kw[w];
    meta[base + n] = h;
    return slot;
  }

  /** alloc() without storing the key and hash: a live slot with a zeroed value. May replace the buffers. */
  private takeSlot(): number {
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
      if (this.highWater === this.allocated) this.grow();
      slot = this.highWater++;
    }
    this.live[slot] = 1;
    this.count++;
    return slot;
  }

  /** Double the storage (up to capacity), copying the used slots: offsets keep their meaning. */
  private grow(): void {
    const used = this.highWater;
    const n = Math.min(this.capacity, this.allocated * 2);
    const meta = new Int32Array(n * this.recordWords);
    meta.set(this.meta.subarray(0, used * this.recordWords));
    const values = new Uint8Array(n * this.valueStride);
    values.set(this.values.subarray(0, used * this.valueStride));
    const live = new Uint8Array(n);
    live.set(this.live.subarray(0, used));
    const freeNext = new Int32Array(n);
    freeNext.set(this.freeNext.subarray(0, used));
    this.allocated = n;
    this.meta = meta;
    this.keys = new Uint8Array(meta.buffer);
    this.values = values;
    this.view = new DataView(values.buffer);
    this.valueWords = new Int32Array(values.buffer, 0, values.length >>> 2);
    this.live = live;
    this.freeNext = freeNext;
  }

  /** Return a slot to the free list. Key and value bytes stay until reuse. */
  free(slot: number): void {
    this.freeNext[slot] = this.freeHead;
    this.freeHead = slot + 1;
    this.live[slot] = 0;
    this.count--;
  }

  /** Empty the pool; its storage stays allocated (a cleared map fills up again the same way). */
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
    for (let slot = 0; slot < this.highWater; slot++) {
      if (this.live[slot] === 1) cb(slot);
    }
  }

  clone(): SlotPool {
    return new SlotPool(this.keySize, this.valueStride, this.capacity, this.metaWords, this);
  }
}

/**
 * Remove `slot` (hash `h`) from an open-addressing index of (hash, slot+1)
 * pairs by backward-shift deletion: later entries of the probe run move into
 * the hole unless their home position lies cyclically in (hole, p], so no
 * tombstones are left behind.
 */
function unlinkSlot(index: Int32Array, mask: number, slot: number, h: number): void {
  let hole = h & mask;
  while (index[2 * hole + 1] !== slot + 1) hole = (hole + 1) & mask;
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
}

/** The index with twice the positions, every entry re-placed from its stored hash. */
function doubledIndex(old: Int32Array): Int32Array {
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
  return index;
}

export class SlotIndex {
  /** (hash, slot+1) pairs; slot+1 = 0 marks an empty position. Replaced when it grows. */
  private index: Int32Array;
  private mask: number;
  private readonly pool: SlotPool;
  /** Entries indexed here. */
  count = 0;

  /** Growth stops by itself: a pool never holds more than `capacity` entries. */
  constructor(pool: SlotPool, initial?: Int32Array) {
    this.pool = pool;
    this.index = initial ?? new Int32Array(Math.min(INITIAL_POSITIONS, nextPowerOfTwo(pool.capacity * 2)) * 2);
    this.mask = (this.index.length >> 1) - 1;
  }

  /**
   * Slot whose key words equal kw[0..n) (hash `h`), or -1. `n` may be less than
   * the record's key words when every entry here is zero beyond it (LPM).
   */
  find(kw: Int32Array, n: number, h: number): number {
    const index = this.index;
    const mask = this.mask;
    const meta = this.pool.meta;
    const rw = this.pool.recordWords;
    let p = h & mask;
    while (true) {
      const link = index[2 * p + 1];
      if (link === 0) return -1;
      if (index[2 * p] === h) {
        const base = (link - 1) * rw;
        let w = 0;
        while (w < n && meta[base + w] === kw[w]) w++;
        if (w === n) return link - 1;
      }
      p = (p + 1) & mask;
    }
  }

  /**
   * find() for a key of at most three words given as numbers (k1, k2 unused
   * past `n`): no key words in memory to load, so a query needs no scratch.
   */
  findWords3(h: number, n: number, k0: number, k1: number, k2: number): number {
    const index = this.index;
    const mask = this.mask;
    const meta = this.pool.meta;
    const rw = this.pool.recordWords;
    let p = h & mask;
    while (true) {
      const link = index[2 * p + 1];
      if (link === 0) return -1;
      if (index[2 * p] === h) {
        const base = (link - 1) * rw;
        if (meta[base] === k0 && (n < 2 || meta[base + 1] === k1) && (n < 3 || meta[base + 2] === k2)) return link - 1;
      }
      p = (p + 1) & mask;
    }
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
    unlinkSlot(this.index, this.mask, slot, h);
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
    this.index = doubledIndex(this.index);
    this.mask = (this.index.length >> 1) - 1;
  }
}

/**
 * Key words of the operation in progress, shared by every HashTable (and the
 * LPM maps' queries): an operation (load, then find and maybe insert) never
 * interleaves with another, and one scratch array stays in L1 where one per
 * map would not.
 *
 * The packet path may also build its keys here directly (KEY_SCRATCH.bytes
 * as the key, offset 0), writing whole 32-bit words through KEY_SCRATCH.view:
 * a map then hashes the words in place instead of assembling them from
 * bytes, and word stores read back as words forward without stalls. A key
 * built here is only good for the next map call.
 */
const SCRATCH = new KeyWords(4 * MAX_KEY_WORDS);
export const KEY_SCRATCH: KeyWords = SCRATCH;
// The scratch's arrays as this module's own consts: TurboFan folds them into
// the code as constants, where `SCRATCH.words` is a field load and a map
// check on every use (and again in every round of a word loop).
const SCRATCH_WORDS = SCRATCH.words;
const SCRATCH_BYTES = SCRATCH.bytes;

/**
 * A pool with its own index in one object: what HASH, PERCPU_HASH and
 * LRU_HASH are built on. A lookup reads its fields from this one object
 * (index, mask, records) instead of hopping through separate pool and index
 * objects: on the packet path every extra object is another cache line.
 * Operations go in two steps: `load(key, off)` puts the key in the shared
 * scratch words and returns its hash, then `find`/`insert` use them.
 */
export class HashTable extends SlotPool {
  readonly seed: number;
  /** (hash, slot+1) pairs, as in SlotIndex. Replaced when it grows. */
  private index: Int32Array;
  private mask: number;
  /** Entries in the index (equals `count`; kept apart so SlotPool stays the owner of `count`). */
  private indexed = 0;

  /** Hash of the key findForInsert() loaded last. */
  loadedHash = 0;
  // The slot lookupSlot() or findForInsert() last found, or insert() last
  // filled, or -1. The datapath uses the same few keys packet after packet:
  // the cilium_lxc entries of the local destination, for one. A live slot
  // holding exactly the key is the key's entry (keys are unique), so
  // lookupSlot() checks it first and gets find()'s answer without hashing and
  // probing. It needs no forgetting: a freed or reused slot fails the check.
  // Clones start without it.
  private lastSlot = -1;
  // lookupSlot()'s other memory: the key it last missed (in `missedKey`,
  // valid while `missedKnown`), e.g. a remote destination looked up in
  // cilium_lxc. A missed key stays absent until the next insert, which
  // forgets it (deletes, clears and growth cannot make it present).
  // (Flags are tested as `=== true`: a pointer compare, where a truthiness test is a full ToBoolean.)
  private missedKnown = false;
  private readonly missedKey: Int32Array;
  // lookupSlotWords5()'s own memory, kept in fields rather than read from
  // `meta` and `missedKey` (five bounds-checked loads each): the slot it last
  // found and its key words (a live slot's key never changes; free() and
  // clear() forget it), and the key it last missed (until the next insert).
  private found5 = -1;
  private found5K0 = 0;
  private found5K1 = 0;
  private found5K2 = 0;
  private found5K3 = 0;
  private found5K4 = 0;
  private missed5Known = false;
  private missed5K0 = 0;
  private missed5K1 = 0;
  private missed5K2 = 0;
  private missed5K3 = 0;
  private missed5K4 = 0;

  constructor(keySize: number, valueStride: number, capacity: number, seed = DEFAULT_HASH_SEED, metaWords = 1, from?: HashTable) {
    super(keySize, valueStride, capacity, metaWords, from);
    this.seed = seed | 0;
    this.missedKey = new Int32Array(this.keyWords);
    if (from) {
      this.index = from.index.slice();
      this.mask = from.mask;
      this.indexed = from.indexed;
    } else {
      this.index = new Int32Array(Math.min(INITIAL_POSITIONS, nextPowerOfTwo(capacity * 2)) * 2);
      this.mask = (this.index.length >> 1) - 1;
    }
  }

  /** This table's storage (the pool is the table itself). */
  get pool(): SlotPool {
    return this;
  }

  /**
   * Load `key` into the scratch words; returns its hash (= hashWords over
   * them). Assembling and hashing in one pass is a third cheaper than two.
   */
  load(key: Uint8Array, keyOff: number): number {
    // Keys the packet path built in place come first, in a body small enough to inline.
    if (key !== SCRATCH_BYTES || keyOff !== 0) return this.loadCopy(key, keyOff);
    const kw = SCRATCH_WORDS;
    // Clear the padding of a partial last word, hash as is.
    const rest = this.keySize & 3;
    if (rest !== 0) kw[this.keySize >>> 2] &= TAIL_MASK[rest];
    return hashWords(kw, this.keyWords, this.seed);
  }

  /** load() of a key in its own buffer: assembling and hashing in one pass. */
  private loadCopy(key: Uint8Array, keyOff: number): number {
    const kw = SCRATCH_WORDS;
    if (!HOST_LITTLE_ENDIAN) {
      loadKeyWords(kw, SCRATCH_BYTES, key, keyOff, this.keySize);
      return hashWords(kw, this.keyWords, this.seed);
    }
    const full = this.keySize >>> 2;
    let h = this.seed;
    let o = keyOff;
    for (let w = 0; w < full; w++, o += 4) {
      const k = key[o] | (key[o + 1] << 8) | (key[o + 2] << 16) | (key[o + 3] << 24);
      kw[w] = k;
      h = Math.imul(h ^ k, HASH_MUL);
      h ^= h >>> 15;
    }
    const rest = this.keySize & 3;
    if (rest !== 0) {
      let k = key[o];
      if (rest > 1) k |= key[o + 1] << 8;
      if (rest > 2) k |= key[o + 2] << 16;
      kw[full] = k;
      h = Math.imul(h ^ k, HASH_MUL);
      h ^= h >>> 15;
    }
    h = Math.imul(h ^ this.keyWords, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h;
  }

  /** Slot holding the loaded key (hash `h`), or -1. */
  find(h: number): number {
    const index = this.index;
    const mask = this.mask;
    const meta = this.meta;
    const rw = this.recordWords;
    const n = this.keyWords;
    const kw = SCRATCH_WORDS;
    let p = h & mask;
    while (true) {
      const link = index[2 * p + 1];
      if (link === 0) return -1;
      if (index[2 * p] === h) {
        const base = (link - 1) * rw;
        let w = 0;
        while (w < n && meta[base + w] === kw[w]) w++;
        if (w === n) return link - 1;
      }
      p = (p + 1) & mask;
    }
  }

  /**
   * load() and find() in one (HashMap.lookup): the slot holding `key`, or
   * -1. A key in KEY_SCRATCH is first checked against the slot last found
   * and the key last missed (see lastSlot), which answer as find() would.
   */
  lookupSlot(key: Uint8Array, keyOff: number): number {
    if (key !== SCRATCH_BYTES || keyOff !== 0) return this.find(this.loadCopy(key, keyOff));
    const kw = SCRATCH_WORDS;
    const n = this.keyWords;
    // Clear the padding of a partial last word, as load() does.
    const rest = this.keySize & 3;
    if (rest !== 0) kw[n - 1] &= TAIL_MASK[rest];
    const last = this.lastSlot;
    if (last >= 0 && this.live[last] === 1) {
      const meta = this.meta;
      const base = last * this.recordWords;
      let w = 0;
      while (w < n && meta[base + w] === kw[w]) w++;
      if (w === n) return last;
    }
    const missed = this.missedKey;
    if (this.missedKnown === true) {
      let w = 0;
      while (w < n && missed[w] === kw[w]) w++;
      if (w === n) return -1;
    }
    const slot = this.find(hashWords(kw, n, this.seed));
    if (slot >= 0) {
      this.lastSlot = slot;
    } else {
      for (let w = 0; w < n; w++) missed[w] = kw[w];
      this.missedKnown = true;
    }
    return slot;
  }

  /**
   * lookupSlot() of a 20-byte key given as its five host-order words (key
   * bytes loaded little-endian), answered first from its own memory of the
   * slot last found and the key last missed (see found5), checked against
   * the numbers without writing a key.
   * cilium_lxc and cilium_tunnel_map lookups (endpoint_key, tunnel_key).
   */
  lookupSlotWords5(k0: number, k1: number, k2: number, k3: number, k4: number): number {
    const found = this.found5;
    if (found >= 0 && k0 === this.found5K0 && k1 === this.found5K1 && k2 === this.found5K2 && k3 === this.found5K3 && k4 === this.found5K4) return found;
    if (this.missed5Known === true && k0 === this.missed5K0 && k1 === this.missed5K1 && k2 === this.missed5K2 && k3 === this.missed5K3 && k4 === this.missed5K4) return -1;
    // Not remembered: lookupSlot()'s own search, from the scratch words.
    const kw = SCRATCH_WORDS;
    kw[0] = k0;
    kw[1] = k1;
    kw[2] = k2;
    kw[3] = k3;
    kw[4] = k4;
    const slot = this.find(hashWords(kw, 5, this.seed));
    if (slot >= 0) {
      this.lastSlot = slot;
      this.found5 = slot;
      this.found5K0 = k0;
      this.found5K1 = k1;
      this.found5K2 = k2;
      this.found5K3 = k3;
      this.found5K4 = k4;
    } else {
      this.missed5Known = true;
      this.missed5K0 = k0;
      this.missed5K1 = k1;
      this.missed5K2 = k2;
      this.missed5K3 = k3;
      this.missed5K4 = k4;
    }
    return slot;
  }

  /**
   * load() and find() for an insert-or-update (reserve, update): the key's
   * slot, or -1 with the key loaded and its hash in `loadedHash` for
   * insert().
   */
  findForInsert(key: Uint8Array, keyOff: number): number {
    const h = this.load(key, keyOff);
    this.loadedHash = h;
    const slot = this.find(h);
    if (slot >= 0) this.lastSlot = slot;
    return slot;
  }

  /** Add the loaded key, known to be absent; caller checks `full` first. */
  insert(h: number): number {
    const slot = this.alloc(SCRATCH_WORDS, h);
    // Keep the index at most half full.
    if ((this.indexed + 1) * 2 > this.mask + 1) this.growIndex();
    const index = this.index;
    const mask = this.mask;
    let p = h & mask;
    while (index[2 * p + 1] !== 0) p = (p + 1) & mask;
    index[2 * p] = h;
    index[2 * p + 1] = slot + 1;
    this.indexed++;
    this.missedKnown = false;
    this.missed5Known = false;
    this.lastSlot = slot;
    return slot;
  }

  override free(slot: number): void {
    if (slot === this.found5) this.found5 = -1;
    super.free(slot);
  }

  remove(slot: number): void {
    unlinkSlot(this.index, this.mask, slot, this.hashOf(slot));
    this.indexed--;
    this.free(slot);
  }

  override clear(): void {
    super.clear();
    this.index.fill(0);
    this.indexed = 0;
    this.found5 = -1;
  }

  override clone(): HashTable {
    return new HashTable(this.keySize, this.valueStride, this.capacity, this.seed, this.metaWords, this);
  }

  /** Double the index positions and re-place every entry from its stored hash. */
  private growIndex(): void {
    this.index = doubledIndex(this.index);
    this.mask = (this.index.length >> 1) - 1;
  }
}
