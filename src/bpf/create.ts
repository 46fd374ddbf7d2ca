// Build the right map class from a spec, as bpf(BPF_MAP_CREATE) does from its
// attributes; the agent describes maps as specs and lets this pick the kind.
import { BpfMapType, bpfMapTypeName } from './types.js';
import type { KeyValueMap, MapSpec } from './types.js';
import { HashMap, PerCpuHashMap } from './hash.js';
import { LruHashMap } from './lru.js';
import { LpmTrieMap } from './lpm.js';
import { ArrayMap, PerCpuArrayMap } from './array.js';

export interface CreateMapOptions {
  /** CPUs for per-CPU maps (default 1). */
  nCpus?: number;
  /** Hash seed for hash-based maps (default fixed). */
  seed?: number;
}

/** A key/value map for `spec.type`; throws for prog arrays, rings and unknown types. */
export function createMap(spec: MapSpec, options: CreateMapOptions = {}): KeyValueMap {
  const seeded = options.seed === undefined ? {} : { seed: options.seed };
  switch (spec.type) {
    case BpfMapType.HASH:
      return new HashMap(spec, seeded);
    case BpfMapType.LRU_HASH:
      return new LruHashMap(spec, seeded);
    case BpfMapType.LPM_TRIE:
      return new LpmTrieMap(spec, seeded);
    case BpfMapType.ARRAY:
      return new ArrayMap(spec);
    case BpfMapType.PERCPU_HASH:
      return new PerCpuHashMap(spec, { ...seeded, nCpus: options.nCpus ?? 1 });
    case BpfMapType.PERCPU_ARRAY:
      return new PerCpuArrayMap(spec, { nCpus: options.nCpus ?? 1 });
    default:
      throw new Error(`map ${spec.name}: ${bpfMapTypeName(spec.type)} is not a key/value map kind`);
  }
}
