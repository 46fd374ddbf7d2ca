// BPF_MAP_TYPE_LRU_HASH: a hash map that never refuses a new key. When full,
// the insert evicts the least recently used entry, where lookups, reserves and
// updates all count as use (the kernel approximates this with per-CPU lists;
// with one simulated CPU an exact LRU is the faithful model).
//
// Recency is an intrusive doubly linked list over slots, kept as two Int32
// words in each slot's key record (HashTable.meta, slot+1 encoded), so a hit
// reads the key and its own links from one cache line and every operation
// stays O(1).
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { DEFAULT_HASH_SEED, HashTable } from './hash-table.js';
import { badUpdateFlags, copyInto } from './map-util.js';
import type { HashMapOptions } from './hash.js';

// Module-local copies of imported constants used per packet: TurboFan folds a
// module's own consts, but loads and checks an imported binding at every use.
const NOEXIST = BPF_NOEXIST;
const EXIST = BPF_EXIST;

/** Meta words per record: the table's hash, then our two links. */
const META_WORDS = 3;
/** Link toward the most recently used end. */
const NEWER = 1;
/** Link toward the least recently used end. */
const OLDER = 2;

interface LruState {
  table: HashTable;
  mostRecent: number;
  leastRecent: number;
  evictions: number;
}

export class LruHashMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly table: HashTable;
  /** Entries pushed out by inserts into a full map. */
  evictions = 0;
  private readonly valueSize: number;
  private readonly recordWords: number;
  /** Word offset of meta word 0 in a record. */
  private readonly metaBase: number;
  /** Ends of the recency list, slot+1 (0 = empty list). */
  private mostRecent = 0;
  private leastRecent = 0;

  constructor(spec: MapSpecInput, options: HashMapOptions = {}, state?: LruState) {
    this.spec = withType(spec, BpfMapType.LRU_HASH);
    checkSpec(this.spec, BpfMapType.LRU_HASH, 'lru hash map');
    // The kernel refuses LRU maps without preallocation (-ENOTSUPP).
    if ((this.spec.flags ?? 0) & BPF_F_NO_PREALLOC) throw new Error(`lru hash map ${this.spec.name}: BPF_F_NO_PREALLOC is not supported`);
    this.valueSize = this.spec.valueSize;
    if (state) {
      this.table = state.table;
      this.mostRecent = state.mostRecent;
      this.leastRecent = state.leastRecent;
      this.evictions = state.evictions;
    } else {
      this.table = new HashTable(this.spec.keySize, this.valueSize, this.spec.maxEntries, options.seed ?? DEFAULT_HASH_SEED, META_WORDS);
    }
    this.recordWords = this.table.recordWords;
    this.metaBase = this.table.keyWords;
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

  /** Value offset or -1; a hit makes the entry the most recently used. */
  lookup(key: Uint8Array, keyOff = 0): number {
    const table = this.table;
    const slot = table.find(table.load(key, keyOff));
    if (slot < 0) return -1;
    if (this.mostRecent !== slot + 1) this.touch(slot);
    return slot * this.valueSize;
  }

  /** Lookup without refreshing recency (for dumps and garbage collection passes). */
  peek(key: Uint8Array, keyOff = 0): number {
    const table = this.table;
    const slot = table.find(table.load(key, keyOff));
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
    const table = this.table;
    const slot = table.find(table.load(key, keyOff));
    if (slot < 0) return -Errno.ENOENT;
    this.unlink(slot);
    table.remove(slot);
    return 0;
  }

  clear(): void {
    this.table.clear();
    this.mostRecent = 0;
    this.leastRecent = 0;
  }

  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const pool = this.table;
    const valueSize = this.valueSize;
    pool.forEachSlot((slot) => cb(pool.keys, slot * pool.recordStride, slot * valueSize));
  }

  /** Visit entries from most to least recently used (deleting the current entry is fine). */
  forEachByRecency(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const pool = this.table;
    let link = this.mostRecent;
    while (link !== 0) {
      const slot = link - 1;
      link = pool.meta[this.word(slot, OLDER)];
      cb(pool.keys, slot * pool.recordStride, slot * this.valueSize);
    }
  }

  clone(): LruHashMap {
    return new LruHashMap({ ...this.spec }, {}, {
      table: this.table.clone(),
      mostRecent: this.mostRecent,
      leastRecent: this.leastRecent,
      evictions: this.evictions,
    });
  }

  private word(slot: number, which: number): number {
    return slot * this.recordWords + this.metaBase + which;
  }

  private reserveSlot(key: Uint8Array, flags: number, keyOff: number): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const table = this.table;
    let slot = table.findForInsert(key, keyOff);
    if (slot >= 0) {
      if (flags === NOEXIST) return -Errno.EEXIST;
      if (this.mostRecent !== slot + 1) this.touch(slot);
      return slot;
    }
    if (flags === EXIST) return -Errno.ENOENT;
    if (table.full) {
      const victim = this.leastRecent - 1;
      this.unlink(victim);
      table.remove(victim);
      this.evictions++;
    }
    slot = table.insert(table.loadedHash);
    this.pushMostRecent(slot);
    return slot;
  }

  private touch(slot: number): void {
    this.unlink(slot);
    this.pushMostRecent(slot);
  }

  private pushMostRecent(slot: number): void {
    const meta = this.table.meta;
    const link = slot + 1;
    meta[this.word(slot, NEWER)] = 0;
    meta[this.word(slot, OLDER)] = this.mostRecent;
    if (this.mostRecent !== 0) meta[this.word(this.mostRecent - 1, NEWER)] = link;
    else this.leastRecent = link;
    this.mostRecent = link;
  }

  private unlink(slot: number): void {
    const meta = this.table.meta;
    const newer = meta[this.word(slot, NEWER)];
    const older = meta[this.word(slot, OLDER)];
    if (newer !== 0) meta[this.word(newer - 1, OLDER)] = older;
    else this.mostRecent = older;
    if (older !== 0) meta[this.word(older - 1, NEWER)] = newer;
    else this.leastRecent = newer;
  }
}
