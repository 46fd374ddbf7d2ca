// Shared vocabulary of the bpf/ layer: the kernel's map type numbers, update
// flags and errno values, and the interface every key/value map implements.
// Programs get byte offsets back (the kernel hands out pointers) and negative
// errno numbers for errors, so the packet path never allocates or throws.

/** `enum bpf_map_type` values from include/uapi/linux/bpf.h (only the kinds podpath models). */
export const enum BpfMapType {
  HASH = 1,
  ARRAY = 2,
  PROG_ARRAY = 3,
  PERF_EVENT_ARRAY = 4,
  PERCPU_HASH = 5,
  PERCPU_ARRAY = 6,
  LRU_HASH = 9,
  LPM_TRIE = 11,
  RINGBUF = 27,
}

export type BpfMapTypeValue = (typeof BpfMapType)[keyof typeof BpfMapType];

const MAP_TYPE_NAMES: Record<number, string> = {
  [BpfMapType.HASH]: 'hash',
  [BpfMapType.ARRAY]: 'array',
  [BpfMapType.PROG_ARRAY]: 'prog_array',
  [BpfMapType.PERF_EVENT_ARRAY]: 'perf_event_array',
  [BpfMapType.PERCPU_HASH]: 'percpu_hash',
  [BpfMapType.PERCPU_ARRAY]: 'percpu_array',
  [BpfMapType.LRU_HASH]: 'lru_hash',
  [BpfMapType.LPM_TRIE]: 'lpm_trie',
  [BpfMapType.RINGBUF]: 'ringbuf',
};

/** The name bpftool prints for a map type (`bpftool map show`), or `unknown(<n>)`. */
export function bpfMapTypeName(type: number): string {
  return MAP_TYPE_NAMES[type] ?? `unknown(${type})`;
}

/** Update flags (`BPF_ANY` creates or replaces, `BPF_NOEXIST` only creates, `BPF_EXIST` only replaces). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** Map creation flag: the kernel allocates elements on demand. Required for LPM tries. */
export const BPF_F_NO_PREALLOC = 1;

/** Linux errno numbers the map operations return, negated (`return -Errno.E2BIG`). */
export const enum Errno {
  ENOENT = 2,
  E2BIG = 7,
  ENOMEM = 12,
  EEXIST = 17,
  EINVAL = 22,
  ENOSPC = 28,
}

/** What `bpf(BPF_MAP_CREATE)` is told; `name` is the pin name under /sys/fs/bpf/tc/globals. */
export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

/**
 * A map with byte keys and byte values. Values live in `values` at the offsets
 * the operations return; `view` is a DataView over the same bytes, for reading
 * and writing struct fields in place. An entry's offset stays put until the
 * entry is deleted (or evicted), like a kernel value pointer. Hash-shaped maps
 * allocate storage as entries arrive (up to maxEntries), so an insert may move
 * `values` and `view` to new buffers: read them from the map after any write,
 * never keep them across one.
 */
export interface KeyValueMap {
  readonly spec: MapSpec;
  readonly values: Uint8Array;
  readonly view: DataView;
  /** Entries present (for arrays: maxEntries, since every index exists). */
  readonly count: number;
  /** Offset of the value for `key` in `values`, or -1. */
  lookup(key: Uint8Array, keyOff?: number): number;
  /** Copy `valueSize` bytes from `value` into the entry; 0 or -errno. */
  update(key: Uint8Array, value: Uint8Array, flags?: number, keyOff?: number, valueOff?: number): number;
  /** Find or create the entry and return its value offset (new values are zero-filled), or -errno. */
  reserve(key: Uint8Array, flags?: number, keyOff?: number): number;
  /** 0 or -errno. */
  delete(key: Uint8Array, keyOff?: number): number;
  clear(): void;
  /**
   * Visit every entry; the callback may delete the entry it is given. `keys` is
   * the map's own storage (records may hold more than the key): read
   * `spec.keySize` bytes at `keyOff`, and copy them if you keep them.
   */
  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void;
  /** A deep copy that shares nothing with this map. */
  clone(): KeyValueMap;
}

/** Throws on a spec the kernel would refuse at map creation (not a packet-path call). */
export function checkSpec(spec: MapSpec, expectedType: number, what: string): void {
  if (spec.type !== expectedType) {
    throw new Error(`${what} ${spec.name}: type ${bpfMapTypeName(spec.type)}, expected ${bpfMapTypeName(expectedType)}`);
  }
  if (!Number.isInteger(spec.keySize) || spec.keySize <= 0) throw new Error(`${what} ${spec.name}: bad keySize ${spec.keySize}`);
  if (!Number.isInteger(spec.valueSize) || spec.valueSize <= 0) throw new Error(`${what} ${spec.name}: bad valueSize ${spec.valueSize}`);
  if (!Number.isInteger(spec.maxEntries) || spec.maxEntries <= 0 || spec.maxEntries > 0x3fffffff) {
    throw new Error(`${what} ${spec.name}: bad maxEntries ${spec.maxEntries}`);
  }
}

/** A spec may be given without its type; the constructor fills in the one it implements. */
export type MapSpecInput = Omit<MapSpec, 'type'> & { type?: number };

export function withType(spec: MapSpecInput, type: number): MapSpec {
  return { ...spec, type: spec.type ?? type };
}
