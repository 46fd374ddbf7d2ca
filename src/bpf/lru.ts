// BPF_MAP_TYPE_LRU_HASH: a hash map that never refuses a new key. When full,
// the insert evicts the least recently used entry, where lookups, reserves and
// updates all count as use (the kernel approximates this with per-CPU lists;
// with one simulated CPU an exact LRU is the faithful model).
//
// Recency is an intrusive doubly linked list over slots (Int32Array prev/next,
// slot+1 encoded like the hash chains), so every operation stays O(1).
import { BPF_ANY, BPF_EXIST, BPF_F_NO_PREALLOC, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { DEFAULT_HASH_SEED, HashTable } from './hash-table.js';
import { badUpdateFlags, copyInto } from './map-util.js';
import type { HashMapOptions } from './hash.js';

interface LruState {
  table: HashTable;
  newer: Int32Array;
  older: Int32Array;
  mostRecent: number;
  leastRecent: number;
  evictions: number;
}

export class LruHashMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly table: HashTable;
  readonly values: Uint8Array;
  readonly view: DataView;
  /** Entries pushed out by inserts into a full map. */
  evictions = 0;
  private readonly valueSize: number;
  /** Toward the most recently used end, slot+1. */
  private readonly newer: Int32Array;
  /** Toward the least recently used end, slot+1. */
  private readonly older: Int32Array;
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
      this.newer = state.newer;
      this.older = state.older;
      this.mostRecent = state.mostRecent;
      this.leastRecent = state.leastRecent;
      this.evictions = state.evictions;
    } else {
      const max = this.spec.maxEntries;
      this.table = new HashTable(this.spec.keySize, this.valueSize, max, options.seed ?? DEFAULT_HASH_SEED);
      this.newer = new Int32Array(max);
      this.older = new Int32Array(max);
    }
    this.values = this.table.values;
    this.view = this.table.view;
  }

  get count(): number {
    return this.table.count;
  }

  /** Value offset or -1; a hit makes the entry the most recently used. */
  lookup(key: Uint8Array, keyOff = 0): number {
    const table = this.table;
    const slot = table.find(key, keyOff, table.hash(key, keyOff));
    if (slot < 0) return -1;
    if (this.mostRecent !== slot + 1) this.touch(slot);
    return slot * this.valueSize;
  }

  /** Lookup without refreshing recency (for dumps and garbage collection passes). */
  peek(key: Uint8Array, keyOff = 0): number {
    const table = this.table;
    const slot = table.find(key, keyOff, table.hash(key, keyOff));
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
    const slot = table.find(key, keyOff, table.hash(key, keyOff));
    if (slot < 0) return -Errno.ENOENT;
    this.unlinkRecency(slot);
    table.remove(slot);
    return 0;
  }

  clear(): void {
    this.table.clear();
    this.mostRecent = 0;
    this.leastRecent = 0;
  }

  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const { keys, keySize } = this.table;
    const valueSize = this.valueSize;
    this.table.forEachSlot((slot) => cb(keys, slot * keySize, slot * valueSize));
  }

  /** Visit entries from most to least recently used (a deleted current entry is tolerated). */
  forEachByRecency(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const { keys, keySize } = this.table;
    let link = this.mostRecent;
    while (link !== 0) {
      const slot = link - 1;
      link = this.older[slot];
      cb(keys, slot * keySize, slot * this.valueSize);
    }
  }

  clone(): LruHashMap {
    const used = this.table.highWater;
    const newer = new Int32Array(this.spec.maxEntries);
    const older = new Int32Array(this.spec.maxEntries);
    newer.set(this.newer.subarray(0, used));
    older.set(this.older.subarray(0, used));
    return new LruHashMap({ ...this.spec }, {}, {
      table: this.table.clone(),
      newer,
      older,
      mostRecent: this.mostRecent,
      leastRecent: this.leastRecent,
      evictions: this.evictions,
    });
  }

  private reserveSlot(key: Uint8Array, flags: number, keyOff: number): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const table = this.table;
    const h = table.hash(key, keyOff);
    let slot = table.find(key, keyOff, h);
    if (slot >= 0) {
      if (flags === BPF_NOEXIST) return -Errno.EEXIST;
      if (this.mostRecent !== slot + 1) this.touch(slot);
      return slot;
    }
    if (flags === BPF_EXIST) return -Errno.ENOENT;
    if (table.count >= table.capacity) {
      const victim = this.leastRecent - 1;
      this.unlinkRecency(victim);
      table.remove(victim);
      this.evictions++;
    }
    slot = table.insert(key, keyOff, h);
    this.pushMostRecent(slot);
    return slot;
  }

  private touch(slot: number): void {
    this.unlinkRecency(slot);
    this.pushMostRecent(slot);
  }

  private pushMostRecent(slot: number): void {
    const link = slot + 1;
    this.newer[slot] = 0;
    this.older[slot] = this.mostRecent;
    if (this.mostRecent !== 0) this.newer[this.mostRecent - 1] = link;
    else this.leastRecent = link;
    this.mostRecent = link;
  }

  private unlinkRecency(slot: number): void {
    const newer = this.newer[slot];
    const older = this.older[slot];
    if (newer !== 0) this.older[newer - 1] = older;
    else this.mostRecent = older;
    if (older !== 0) this.newer[older - 1] = newer;
    else this.leastRecent = newer;
  }
}
