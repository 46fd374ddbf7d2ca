// BPF_MAP_TYPE_PROG_ARRAY: slots holding programs for bpf_tail_call(). The
// simulation stores the program objects themselves (the kernel stores fds).
// Out-of-range indexes are -E2BIG and empty slots simply miss, as in the kernel.
import { BpfMapType, Errno, checkSpec, withType } from './types.js';
import type { MapSpec, MapSpecInput } from './types.js';

export class ProgArray<P> {
  readonly spec: MapSpec;
  private readonly slots: (P | undefined)[];
  /**
   * max_entries, kept here for get() on every tail call: specs are built by
   * spreading their inputs, so they come in several hidden classes, and a
   * read through `spec` checks them all.
   */
  private readonly size: number;
  private used = 0;

  /** keySize and valueSize default to 4 (u32 index, u32 prog fd). */
  constructor(spec: Omit<MapSpecInput, 'keySize' | 'valueSize'> & { keySize?: number; valueSize?: number }) {
    this.spec = withType({ keySize: 4, valueSize: 4, ...spec }, BpfMapType.PROG_ARRAY);
    checkSpec(this.spec, BpfMapType.PROG_ARRAY, 'prog array');
    // An int32 and a packed array of fixed length: get() is a bounds check
    // plus a load, without the Smi check of a generic field and the hole
    // check of a holey array on every tail call.
    this.size = this.spec.maxEntries | 0;
    this.slots = Array.from({ length: this.size }, () => undefined);
  }

  get count(): number {
    return this.used;
  }

  /** 0, or -E2BIG for an index past max_entries. */
  set(index: number, prog: P): number {
    if (index >>> 0 >= this.spec.maxEntries) return -Errno.E2BIG;
    if (this.slots[index] === undefined) this.used++;
    this.slots[index] = prog;
    return 0;
  }

  get(index: number): P | undefined {
    return index >>> 0 < this.size ? this.slots[index] : undefined;
  }

  /** 0, -ENOENT for an empty slot, -E2BIG past the end. */
  delete(index: number): number {
    if (index >>> 0 >= this.spec.maxEntries) return -Errno.E2BIG;
    if (this.slots[index] === undefined) return -Errno.ENOENT;
    this.slots[index] = undefined;
    this.used--;
    return 0;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.used = 0;
  }

  /** Occupied slots in index order. */
  forEach(cb: (index: number, prog: P) => void): void {
    for (let i = 0; i < this.slots.length; i++) {
      const p = this.slots[i];
      if (p !== undefined) cb(i, p);
    }
  }

  /** A new slot table holding the same program objects. */
  clone(): ProgArray<P> {
    const copy = new ProgArray<P>({ ...this.spec });
    this.forEach((i, p) => copy.set(i, p));
    return copy;
  }
}

/**
 * bpf_tail_call(): run the program in `index`, or return `missed` (the caller's
 * DROP_MISSED_TAIL_CALL) when the slot is empty or out of range.
 */
export function tailCall<P>(progArray: ProgArray<P>, index: number, run: (prog: P) => number, missed: number): number {
  const prog = progArray.get(index);
  return prog === undefined ? missed : run(prog);
}
