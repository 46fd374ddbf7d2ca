// bpf/: BPF map kinds with the kernel's semantics, for the simulated datapath.
export * from './types.js';
export * from './bytes.js';
export { DEFAULT_HASH_SEED, HashTable, SlotIndex, SlotPool, hashBytes } from './hash-table.js';
export { HashMap, PerCpuHashMap } from './hash.js';
export type { HashMapOptions, PerCpuOptions } from './hash.js';
export { LruHashMap } from './lru.js';
export { LpmTrieMap } from './lpm.js';
export { ArrayMap, PerCpuArrayMap } from './array.js';
export type { PerCpuArrayOptions } from './array.js';
export { ProgArray, tailCall } from './prog-array.js';
export { CILIUM_EVENTS_RING_BYTES, EventRing, PerfEventArray } from './ringbuf.js';
export type { PerfEventArrayOptions } from './ringbuf.js';
export { BPF_FS_GLOBALS, BpfFs } from './fs.js';
export type { PinnedObject } from './fs.js';
export { createMap } from './create.js';
export type { CreateMapOptions } from './create.js';
