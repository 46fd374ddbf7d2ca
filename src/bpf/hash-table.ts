// The storage engine under the hash-shaped maps (HASH, LRU_HASH, PERCPU_HASH,
// LPM_TRIE): a fixed pool of `capacity` slots with keys and values in flat
// byte arrays, chained into power-of-two buckets through Int32Arrays.
//
// Links are stored as slot+1 so that 0 means "none": the arrays then need no
// fill at construction, and a big map (CT: 512k entries) costs only the pages
// it touches, as the OS hands out zeroed memory lazily.
//
// Each map class owns one HashTable (composition, not inheritance) so the
// lookup loop always sees one object shape and V8 keeps it monomorphic.

/** Default hash seed: fixed so iteration order and runs are reproducible. */
export const DEFAULT_HASH_SEED = 0x2f0f_a1c3;

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

export class HashTable {
  readonly keySize: number;
  /** Bytes per slot in `values` (valueSize, or the per-CPU stride times nCpus). */
  readonly valueStride: number;
  readonly capacity: number;
  readonly seed: number;
  readonly keys: Uint8Array;
  readonly values: Uint8Array;
  readonly view: DataView;
  /** Full hash of each live slot's key, compared before the key bytes. */
  readonly hashes: Int32Array;
  /** Bucket chain (and free list) links, slot+1, 0 = end. */
  readonly chain: Int32Array;
  /** 1 while a slot holds an entry; iteration walks this. */
  readonly live: Uint8Array;
  /** First slot+1 of each bucket, 0 = empty. */
  readonly heads: Int32Array;
  readonly bucketMask: number;
  count = 0;
  /** Slots at or above this index have never been used (so are still zero). */
  highWater = 0;
  /** Head of the free list of deleted slots, slot+1, 0 = empty. */
  freeHead = 0;

  constructor(keySize: number, valueStride: number, capacity: number, seed = DEFAULT_HASH_SEED) {
    this.keySize = keySize;
    this.valueStride = valueStride;
    this.capacity = capacity;
    this.seed = seed | 0;
    this.keys = new Uint8Array(capacity * keySize);
    this.values = new Uint8Array(capacity * valueStride);
    this.view = new DataView(this.values.buffer);
    this.hashes = new Int32Array(capacity);
    this.chain = new Int32Array(capacity);
    this.live = new Uint8Array(capacity);
    const buckets = nextPowerOfTwo(capacity);
    this.heads = new Int32Array(buckets);
    this.bucketMask = buckets - 1;
  }

  hash(key: Uint8Array, keyOff: number): number {
    return hashBytes(key, keyOff, this.keySize, this.seed);
  }

  /** Slot holding `key` (whose hash is `h`), or -1. */
  find(key: Uint8Array, keyOff: number, h: number): number {
    const keys = this.keys;
    const keySize = this.keySize;
    const hashes = this.hashes;
    const chain = this.chain;
    let slot = this.heads[h & this.bucketMask] - 1;
    while (slot >= 0) {
      if (hashes[slot] === h) {
        const base = slot * keySize;
        let i = 0;
        while (i < keySize && keys[base + i] === key[keyOff + i]) i++;
        if (i === keySize) return slot;
      }
      slot = chain[slot] - 1;
    }
    return -1;
  }

  /** Take a free slot, store the key, zero the value and link it in. Caller checks `count < capacity`. */
  insert(key: Uint8Array, keyOff: number, h: number): number {
    let slot: number;
    if (this.freeHead !== 0) {
      slot = this.freeHead - 1;
      this.freeHead = this.chain[slot];
      // A reused slot still holds the deleted entry's value.
      const v = slot * this.valueStride;
      this.values.fill(0, v, v + this.valueStride);
    } else {
      slot = this.highWater++;
    }
    const keySize = this.keySize;
    const base = slot * keySize;
    const keys = this.keys;
    for (let i = 0; i < keySize; i++) keys[base + i] = key[keyOff + i];
    const bucket = h & this.bucketMask;
    this.hashes[slot] = h;
    this.chain[slot] = this.heads[bucket];
    this.heads[bucket] = slot + 1;
    this.live[slot] = 1;
    this.count++;
    return slot;
  }

  /** Unlink a live slot from its bucket and put it on the free list. Key and value bytes stay until reuse. */
  remove(slot: number): void {
    const chain = this.chain;
    const bucket = this.hashes[slot] & this.bucketMask;
    let link = this.heads[bucket];
    if (link === slot + 1) {
      this.heads[bucket] = chain[slot];
    } else {
      // Chains average under one entry, so walking to the predecessor is cheap.
      while (chain[link - 1] !== slot + 1) link = chain[link - 1];
      chain[link - 1] = chain[slot];
    }
    chain[slot] = this.freeHead;
    this.freeHead = slot + 1;
    this.live[slot] = 0;
    this.count--;
  }

  clear(): void {
    this.heads.fill(0);
    this.live.fill(0, 0, this.highWater);
    this.chain.fill(0, 0, this.highWater);
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

  clone(): HashTable {
    const copy = new HashTable(this.keySize, this.valueStride, this.capacity, this.seed);
    // Copy only the used prefix so untouched pages of the copy stay untouched.
    const used = this.highWater;
    copy.keys.set(this.keys.subarray(0, used * this.keySize));
    copy.values.set(this.values.subarray(0, used * this.valueStride));
    copy.hashes.set(this.hashes.subarray(0, used));
    copy.chain.set(this.chain.subarray(0, used));
    copy.live.set(this.live.subarray(0, used));
    copy.heads.set(this.heads);
    copy.count = this.count;
    copy.highWater = this.highWater;
    copy.freeHead = this.freeHead;
    return copy;
  }
}
