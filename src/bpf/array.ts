// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY. The key is a u32 index
// (little-endian, host order); every index below max_entries always exists
// and starts zeroed. As in the kernel, delete is -EINVAL, BPF_NOEXIST is
// -EEXIST, and an update past the end is -E2BIG.
import { BPF_ANY, BPF_NOEXIST, BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { KeyValueMap, MapSpec, MapSpecInput } from './types.js';
import { badUpdateFlags, checkCpuCount, copyInto, perCpuStride } from './map-util.js';
import { readU32LE, writeU32LE } from './bytes.js';

function checkArraySpec(spec: MapSpec, type: number, what: string): void {
  checkSpec(spec, type, what);
  if (spec.keySize !== 4) throw new Error(`${what} ${spec.name}: keySize must be 4`);
}

/** Shared body; `stride` is bytes per index (valueSize, or per-CPU stride times nCpus). */
abstract class IndexedMap implements KeyValueMap {
  readonly spec: MapSpec;
  readonly values: Uint8Array;
  readonly view: DataView;
  protected readonly stride: number;
  protected readonly maxEntries: number;
  /** Rewritten for each entry handed to forEach callbacks. */
  private readonly iterKey = new Uint8Array(4);

  protected constructor(spec: MapSpec, stride: number, values?: Uint8Array) {
    this.spec = spec;
    this.stride = stride;
    this.maxEntries = spec.maxEntries;
    this.values = values ?? new Uint8Array(spec.maxEntries * stride);
    this.view = new DataView(this.values.buffer, this.values.byteOffset, this.values.byteLength);
  }

  get count(): number {
    return this.maxEntries;
  }

  /** Value offset of index `i`, or -1 when out of range. */
  lookupIndex(i: number): number {
    return i >>> 0 < this.maxEntries ? i * this.stride : -1;
  }

  lookup(key: Uint8Array, keyOff = 0): number {
    const i = readU32LE(key, keyOff);
    return i < this.maxEntries ? i * this.stride : -1;
  }

  reserve(key: Uint8Array, flags = BPF_ANY, keyOff = 0): number {
    if (badUpdateFlags(flags)) return -Errno.EINVAL;
    const i = readU32LE(key, keyOff);
    if (i >= this.maxEntries) return -Errno.E2BIG;
    if (flags === BPF_NOEXIST) return -Errno.EEXIST;
    return i * this.stride;
  }

  update(key: Uint8Array, value: Uint8Array, flags = BPF_ANY, keyOff = 0, valueOff = 0): number {
    const off = this.reserve(key, flags, keyOff);
    if (off < 0) return off;
    copyInto(this.values, off, value, valueOff, this.spec.valueSize);
    return 0;
  }

  updateIndex(i: number, value: Uint8Array, valueOff = 0): number {
    if (i >>> 0 >= this.maxEntries) return -Errno.E2BIG;
    copyInto(this.values, i * this.stride, value, valueOff, this.spec.valueSize);
    return 0;
  }

  /** Array elements cannot be deleted. */
  delete(_key: Uint8Array, _keyOff = 0): number {
    return -Errno.EINVAL;
  }

  /** Zero every element (what userspace does to "reset" an array). */
  clear(): void {
    this.values.fill(0);
  }

  forEach(cb: (keys: Uint8Array, keyOff: number, valueOff: number) => void): void {
    const key = this.iterKey;
    for (let i = 0; i < this.maxEntries; i++) {
      writeU32LE(key, 0, i);
      cb(key, 0, i * this.stride);
    }
  }

  abstract clone(): KeyValueMap;
}

export class ArrayMap extends IndexedMap {
  constructor(spec: MapSpecInput, values?: Uint8Array) {
    const full = withType(spec, BpfMapType.ARRAY);
    checkArraySpec(full, BpfMapType.ARRAY, 'array map');
    super(full, full.valueSize, values);
  }

  clone(): ArrayMap {
    return new ArrayMap({ ...this.spec }, this.values.slice());
  }
}

export interface PerCpuArrayOptions {
  nCpus?: number;
}

/**
 * BPF_MAP_TYPE_PERCPU_ARRAY: `nCpus` values per index, each at an 8-byte-rounded
 * stride. `lookup`/`lookupIndex`/`update` act on CPU 0 (where the simulation
 * runs programs); `lookupPerCpu` and `valueOffsetForCpu` reach the others.
 */
export class PerCpuArrayMap extends IndexedMap {
  readonly nCpus: number;
  readonly cpuStride: number;

  constructor(spec: MapSpecInput, options: PerCpuArrayOptions = {}, values?: Uint8Array) {
    const full = withType(spec, BpfMapType.PERCPU_ARRAY);
    checkArraySpec(full, BpfMapType.PERCPU_ARRAY, 'percpu array map');
    const nCpus = checkCpuCount(options.nCpus ?? 1, full.name);
    const cpuStride = perCpuStride(full.valueSize);
    super(full, cpuStride * nCpus, values);
    this.nCpus = nCpus;
    this.cpuStride = cpuStride;
  }

  valueOffsetForCpu(valueOff: number, cpu: number): number {
    return valueOff + cpu * this.cpuStride;
  }

  lookupPerCpu(key: Uint8Array, cpu: number, keyOff = 0): number {
    if (cpu >>> 0 >= this.nCpus) return -1;
    const off = this.lookup(key, keyOff);
    return off < 0 ? -1 : off + cpu * this.cpuStride;
  }

  clone(): PerCpuArrayMap {
    return new PerCpuArrayMap({ ...this.spec }, { nCpus: this.nCpus }, this.values.slice());
  }
}
